#!/usr/bin/env bash
# make demo: the most complete real job this build can do. First a real
# migration: a pachd 1.7 sandbox holding the real pachctl 1.7 dump, an empty
# pachd 1.13 sandbox, and the suite between them as a shell pipeline
# (extract | convert to 1.13 | verify | restore); both clusters listed and
# compared; again with zstd in the middle. Then the stream tools on the dump:
# native framing, what it holds, back to pachctl's bytes, 1.13 and back, what
# 1.10 loses, lint and offline plan, a restore that would fail today (the 1.11
# dump's expired enterprise code), and what a damaged backup looks like.
set -euo pipefail
cd "$(dirname "$0")/.."

dump=../shared/fixtures/pachctl-1.7-sort.metadata
[[ -r $dump ]] || { echo "demo: $dump not found (../shared must sit beside the project)" >&2; exit 66; }
for tool in jq zstd; do
  if ! command -v "$tool" >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
      echo "demo: installing $tool" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null; }
    fi
  fi
done
command -v jq >/dev/null || { echo "demo: needs jq (apt-get install jq)" >&2; exit 1; }

export PATH="$PWD/dist/bin:$PATH"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n$ %s\n' "$bold" "$1" "$plain" "$2"; }

# A pachd-sandbox in the background: NAME VERSION [flags]; its address lands in $addr_NAME.
sandbox() {
  local name=$1 version=$2
  shift 2
  pachd-sandbox.js --pachd-version "$version" --port 0 --port-file "$work/$name.port" "$@" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 100); do [[ -s $work/$name.port ]] && break; sleep 0.1; done
  [[ -s $work/$name.port ]] || { cat "$work/$name.log" >&2; exit 1; }
  printf -v "addr_$name" '127.0.0.1:%s' "$(cat "$work/$name.port")"
  sed 's/^/  /' "$work/$name.log"
}

# What a cluster holds as pachd lists it, reduced to what a migration must keep: repos (not
# pachd's own __spec__, which 1.7 lacks), branches with their provenance (not the __spec__
# branches 1.9+ adds) and the length of their history, the input repos' commit IDs, and the
# pipelines with their inputs. Output commits are made by each pachd when its pipelines see
# the inputs: the same number on both sides, with new IDs.
listing() {
  pach-extract.js --list --format json --pachd "$1" | jq -S '
    def history($commits; $id): if $id == null then 0 else 1 + history($commits; first($commits[] | select(.id == $id) | .parent)) end;
    {
      repos: [.repos[] | select(.name != "__spec__") | .commits as $c | {name, branches: [.branches[] | {name, provenance: [.provenance[] | select(startswith("__spec__@") | not)], history: history($c; .head)}]}],
      input_commits: [.repos[] | select(.name != "__spec__" and all(.branches[]; .provenance == [])) | .commits[].id] | sort,
      pipelines: [.pipelines[] | {name, inputs}] | sort_by(.name)
    }'
}

step "1. Two clusters on loopback: pachd 1.7 holding the real 1.7 dump, and an empty pachd 1.13" \
  "pachd-sandbox --pachd-version 1.7 --load $dump & pachd-sandbox --pachd-version 1.13 &"
sandbox old 1.7 --load "$dump"
sandbox new 1.13

step "2. Migrate: extract from 1.7, convert to 1.13, verify, restore into 1.13 — one shell pipeline" \
  "pach-extract --pachd \$old | pach-convert --to-version 1.13 | pach-filter --verify --pass | pach-restore --pachd \$new"
pach-extract.js --pachd "$addr_old" | pach-convert.js --to-version 1.13 | pach-filter.js --verify --pass |
  pach-restore.js --pachd "$addr_new" --journal "$work/restore.journal" --summary "$work/restore.json"
jq -r '"restored \(.records_out) records in \(.calls) Restore call(s), \(.retries) retries: \(.counts | to_entries | map("\(.value) \(.key)") | join(", "))"' "$work/restore.json"
jq -r '"journal: \(.acked) records acknowledged, complete: \(.complete)"' "$work/restore.journal"

step "3. List both clusters and compare (repos, branches, commits, pipelines)" \
  "diff <(pach-extract --list --pachd \$old | jq …) <(pach-extract --list --pachd \$new | jq …)"
listing "$addr_old" >"$work/old.json"
listing "$addr_new" >"$work/new.json"
pach-extract.js --list --pachd "$addr_new" | sed 's/^/  /'
diff "$work/old.json" "$work/new.json"
echo "the 1.7 and the 1.13 cluster hold the same repos, branches (provenance, history), input commits and pipelines"
echo "(1.13 adds pachd's __spec__ repo and branches; output commits are made by each pachd, so their IDs differ)"

if command -v zstd >/dev/null; then
  step "4. The same migration, compressed mid-flight, into another empty pachd 1.13" \
    "pach-extract --pachd \$old | zstd | zstd -d | pach-convert --to-version 1.13 | pach-restore --pachd \$new2"
  sandbox new2 1.13
  pach-extract.js --pachd "$addr_old" | zstd -q | zstd -dq | pach-convert.js --to-version 1.13 | pach-restore.js --pachd "$addr_new2" --journal "$work/restore2.journal"
  listing "$addr_new2" | diff "$work/new.json" -
  echo "identical listing after the zstd round trip"
fi

step "5. Wrap the real pachctl 1.7 dump in the native framing" \
  "pach-convert $dump -o sort.native"
pach-convert.js "$dump" -o "$work/sort.native" --summary "$work/summary.json"
printf '%s bytes in (pachctl), %s bytes out (native); trailer: ' "$(stat -c %s "$dump")" "$(stat -c %s "$work/sort.native")"
pach-convert.js --to json "$work/sort.native" | tail -1 | jq -c '.trailer | {records, counts}'

step "6. What it holds" \
  "pach-convert --to json sort.native | jq -rs '…'"
pach-convert.js --to json "$work/sort.native" | jq -rs '
  def bytes: (.|length) as $l | ($l / 4 * 3) - ([scan("=")] | length);
  (.[0].header | "op version \(.op_version), history: \([.history[].tool] | join(" → "))"),
  "repos:     \([.[] | select(.kind == "repo") | .body.repo.name] | join(", "))",
  "pipelines: \([.[] | select(.kind == "pipeline") | "\(.body.pipeline.name) (input: \([.body.input | .. | objects | select(has("repo") and (.repo | type) == "string") | .repo] | join(" + ")))"] | join("; "))",
  "commits:   \([.[] | select(.kind == "commit") | .body.parent.repo.name] | group_by(.) | map("\(.[0]) \(length)") | join(", "))",
  "branches:  \([.[] | select(.kind == "branch") | "\(.body.branch.repo.name)@\(.body.branch.name)"] | join(", "))",
  "objects:   \([.[] | select(.kind == "object" and .body.value != null)] | length) objects, \([.[] | select(.kind == "object") | .body.value // "" | bytes] | add) bytes; \([.[] | select(.kind == "tag")] | length) tags"'

step "7. Back to pachctl's framing" \
  "pach-convert --to pachctl sort.native -o sort.pachctl"
pach-convert.js --to pachctl "$work/sort.native" -o "$work/sort.pachctl"

step "8. Prove the records are equal" \
  "cmp <(pach-convert --to raw $dump) <(pach-convert --to raw sort.pachctl)"
cmp <(pach-convert.js --to raw "$dump") <(pach-convert.js --to raw "$work/sort.pachctl")
echo "records equal: $(pach-convert.js --to raw "$dump" | sha256sum | cut -c1-16)… on both sides"
cmp "$dump" "$work/sort.pachctl" && echo "and sort.pachctl is byte-identical to the file pachctl extract wrote"

if command -v zstd >/dev/null; then
  step "9. Compressed mid-flight, read back directly" \
    "pach-convert $dump | zstd | pach-convert --to raw | sha256sum"
  pach-convert.js "$dump" | zstd -q | pach-convert.js --to raw | sha256sum | cut -c1-16
fi

step "10. Migrate it to 1.13 (nothing may be lost), read the 1.13 pipelines, and come back" \
  "pach-convert --to-version 1.13 --strict sort.native -o sort-1.13.native"
pach-convert.js --to-version 1.13 --strict --report "$work/loss.json" "$work/sort.native" -o "$work/sort-1.13.native"
jq -r '"loss report: \(.records_in) records in, \(.records_out) out (1.7 trees kept beside their 1.8 twins), \(.losses | length) losses"' "$work/loss.json"
pach-convert.js --to json "$work/sort-1.13.native" | jq -r 'select(.kind == "pipeline") | "  \(.version) pipeline \(.body.pipeline.name): input \(.body.input | tostring), salt \(.body.salt)"'
pach-convert.js --to-version 1.7 --to pachctl "$work/sort-1.13.native" | cmp - "$dump"
echo "1.13 → 1.7 gives back the file pachctl extract wrote, byte for byte"
auth=../shared/fixtures/pachctl-1.11-auth.metadata
echo "\$ pach-convert --to-version 1.10 --report - pachctl-1.11-auth.metadata > /dev/null   # down: what 1.10 cannot hold"
pach-convert.js --to-version 1.10 -q --report - "$auth" 2>&1 >/dev/null | jq -r '.losses[] | "  lost \(.path) ×\(.count) (\(.hop)): \(.reason)"' | cut -c1-150

step "11. Lint the 1.13 backup and plan its restore into pachd 1.13, offline" \
  "pach-filter --verify sort-1.13.native && pach-restore --dry-run sort-1.13.native"
pach-filter.js --verify "$work/sort-1.13.native"
pach-restore.js --dry-run "$work/sort-1.13.native" | sed -n '/^outcome/,$p'

step "12. A restore that would fail today is caught before it starts" \
  "pach-filter --verify pachctl-1.11-auth.metadata"
set +e
pach-filter.js --verify -q "$auth" | cut -c1-220
code=${PIPESTATUS[0]}
set -e
echo "exit $code (65 = would not restore cleanly)"
[[ $code == 65 ]]
echo "\$ pach-restore --dry-run --at 2020-12-16T00:00:00Z pachctl-1.11-auth.metadata   # the day after it was extracted"
pach-restore.js --dry-run --at 2020-12-16T00:00:00Z "$auth" | sed -n '/^outcome/,$p'

step "13. A damaged backup is caught, with where and why" \
  "flip one byte of sort.native; pach-convert sort.native"
cp "$work/sort.native" "$work/bad.native"
printf '\x00' | dd of="$work/bad.native" bs=1 seek=50000 conv=notrunc status=none
set +e
pach-convert.js "$work/bad.native" >/dev/null
code=$?
set -e
echo "exit $code (65 = bad data)"
[[ $code == 65 ]]
echo
echo "demo: done"
