#!/usr/bin/env bash
# make demo: the most complete real job this build can do, on the real
# pachctl 1.7 dump. Wrap it in the native framing, list what it holds with
# jq, turn it back into pachctl's framing, and prove nothing changed; migrate
# it to 1.13 and back; show what going down to 1.10 loses; lint the result and
# plan its restore offline; show a restore that would fail today (the 1.11
# dump's expired enterprise code); then what a damaged backup looks like.
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
trap 'rm -rf "$work"' EXIT
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n$ %s\n' "$bold" "$1" "$plain" "$2"; }

step "1. Wrap the real pachctl 1.7 dump in the native framing" \
  "pach-convert $dump -o sort.native"
pach-convert.js "$dump" -o "$work/sort.native" --summary "$work/summary.json"
printf '%s bytes in (pachctl), %s bytes out (native); trailer: ' "$(stat -c %s "$dump")" "$(stat -c %s "$work/sort.native")"
pach-convert.js --to json "$work/sort.native" | tail -1 | jq -c '.trailer | {records, counts}'

step "2. What it holds" \
  "pach-convert --to json sort.native | jq -rs '…'"
pach-convert.js --to json "$work/sort.native" | jq -rs '
  def bytes: (.|length) as $l | ($l / 4 * 3) - ([scan("=")] | length);
  (.[0].header | "op version \(.op_version), history: \([.history[].tool] | join(" → "))"),
  "repos:     \([.[] | select(.kind == "repo") | .body.repo.name] | join(", "))",
  "pipelines: \([.[] | select(.kind == "pipeline") | "\(.body.pipeline.name) (input: \([.body.input | .. | objects | select(has("repo") and (.repo | type) == "string") | .repo] | join(" + ")))"] | join("; "))",
  "commits:   \([.[] | select(.kind == "commit") | .body.parent.repo.name] | group_by(.) | map("\(.[0]) \(length)") | join(", "))",
  "branches:  \([.[] | select(.kind == "branch") | "\(.body.branch.repo.name)@\(.body.branch.name)"] | join(", "))",
  "objects:   \([.[] | select(.kind == "object" and .body.value != null)] | length) objects, \([.[] | select(.kind == "object") | .body.value // "" | bytes] | add) bytes; \([.[] | select(.kind == "tag")] | length) tags"'

step "3. Back to pachctl's framing" \
  "pach-convert --to pachctl sort.native -o sort.pachctl"
pach-convert.js --to pachctl "$work/sort.native" -o "$work/sort.pachctl"

step "4. Prove the records are equal" \
  "cmp <(pach-convert --to raw $dump) <(pach-convert --to raw sort.pachctl)"
cmp <(pach-convert.js --to raw "$dump") <(pach-convert.js --to raw "$work/sort.pachctl")
echo "records equal: $(pach-convert.js --to raw "$dump" | sha256sum | cut -c1-16)… on both sides"
cmp "$dump" "$work/sort.pachctl" && echo "and sort.pachctl is byte-identical to the file pachctl extract wrote"

if command -v zstd >/dev/null; then
  step "5. Compressed mid-flight, read back directly" \
    "pach-convert $dump | zstd | pach-convert --to raw | sha256sum"
  pach-convert.js "$dump" | zstd -q | pach-convert.js --to raw | sha256sum | cut -c1-16
fi

step "6. Migrate it to 1.13 (nothing may be lost), read the 1.13 pipelines, and come back" \
  "pach-convert --to-version 1.13 --strict sort.native -o sort-1.13.native"
pach-convert.js --to-version 1.13 --strict --report "$work/loss.json" "$work/sort.native" -o "$work/sort-1.13.native"
jq -r '"loss report: \(.records_in) records in, \(.records_out) out (1.7 trees kept beside their 1.8 twins), \(.losses | length) losses"' "$work/loss.json"
pach-convert.js --to json "$work/sort-1.13.native" | jq -r 'select(.kind == "pipeline") | "  \(.version) pipeline \(.body.pipeline.name): input \(.body.input | tostring), salt \(.body.salt)"'
pach-convert.js --to-version 1.7 --to pachctl "$work/sort-1.13.native" | cmp - "$dump"
echo "1.13 → 1.7 gives back the file pachctl extract wrote, byte for byte"
auth=../shared/fixtures/pachctl-1.11-auth.metadata
echo "\$ pach-convert --to-version 1.10 --report - pachctl-1.11-auth.metadata > /dev/null   # down: what 1.10 cannot hold"
pach-convert.js --to-version 1.10 -q --report - "$auth" 2>&1 >/dev/null | jq -r '.losses[] | "  lost \(.path) ×\(.count) (\(.hop)): \(.reason)"' | cut -c1-150

step "7. Lint the 1.13 backup and plan its restore into pachd 1.13, offline" \
  "pach-filter --verify sort-1.13.native && pach-restore --dry-run sort-1.13.native"
pach-filter.js --verify "$work/sort-1.13.native"
pach-restore.js --dry-run "$work/sort-1.13.native" | sed -n '/^outcome/,$p'

step "8. A restore that would fail today is caught before it starts" \
  "pach-filter --verify pachctl-1.11-auth.metadata"
set +e
pach-filter.js --verify -q "$auth" | cut -c1-220
code=${PIPESTATUS[0]}
set -e
echo "exit $code (65 = would not restore cleanly)"
[[ $code == 65 ]]
echo "\$ pach-restore --dry-run --at 2020-12-16T00:00:00Z pachctl-1.11-auth.metadata   # the day after it was extracted"
pach-restore.js --dry-run --at 2020-12-16T00:00:00Z "$auth" | sed -n '/^outcome/,$p'

step "9. A damaged backup is caught, with where and why" \
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
