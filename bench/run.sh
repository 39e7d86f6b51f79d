#!/usr/bin/env bash
# bench/run.sh: throughput and memory of pach-convert against the Unix anchors
# that bound it, on seeded synthetic backups. Writes BENCHMARKS.md.
#
# What it compares, on two data sets made by bench/generate.ts (seed 42):
#   objects-1GiB   a full extract: 1 GiB of block values (1 KiB-10 MiB, 25 % random,
#                  75 % text) with their create_object/tag ops and metadata;
#   meta-256MiB    an object index without data: ~1.1 M records of ~240 bytes.
# each stored once as raw, native, pachctl, json (and native.zst), then
#   anchors        cat f | cat; zstd -3 -T1; zstd -dc; jq -c . (on a 128 MiB slice of
#                  the JSON view, normalised to MB/s)
#   convert/...    pach-convert native->native, pachctl->native, native->pachctl,
#                  native->json, json->native, raw->native, output piped into cat
#   stream/...     8 GiB never stored: generate | pach-convert --from raw --to native | cat
#                  against generate | cat, with the peak RSS of pach-convert alone
#   gen/...        the generator alone on 5 M metadata records (it must not be the bottleneck)
#   replay/...     the replay model (lib/replay) on replay-1M, a CONSISTENT 1.12 history made once by
#                  bench/history.ts (1000 repos, 1 M commits, their object index, branches, pipelines,
#                  jobs, auth; ~2.2 M records, ~0.56 GB raw): replay/verify is `pach-filter --verify`
#                  end to end (it must exit 0: no problem), beside the anchors anchor/cat-replay
#                  (`cat FILE > /dev/null`) and anchor/zstd1-replay (`zstd -1`) on the same file;
#                  replay/model runs bench/replay.ts once for the in-process figures (ops/s per
#                  phase, bytes kept per commit after a forced GC, CommitTable bytes), kept in
#                  replay.tsv for the report's "Replay model" section.
#   version/...    op-version conversion (issue 4) on the same two mixes and sizes generated with
#                  --version 1.7 and --version 1.13 (v1.7-objects-1GiB, v1.13-meta-256MiB, ...;
#                  stored as native only, straight from the generator): pach-convert --to-version
#                  1.13 on the 1.7 ones, --to-version 1.9 on the 1.13 ones, each beside the plain
#                  pass-through (version/pass-1.7-..., version/pass-1.13-...) on the same file.
#                  Their -v stderr (records carried / re-encoded / dropped, the loss summary)
#                  goes to version-*.log and into the report; a loss is expected, a non-zero
#                  exit fails the case.
#   grpc/...       issue 6, in bench/grpc.sh: pach-restore FILE into an empty pachd-sandbox (1.12,
#                  loopback; a fresh one per run) and pach-extract --to raw > /dev/null from a sandbox
#                  that loaded FILE, on two consistent histories from bench/history.ts:
#                  grpc-objects-1GiB (--repos 20 --commits 5000 --blocks 1GiB: MB/s of block values)
#                  and grpc-meta-100k (--repos 50 --commits 100000: ~240 k ops, ops/s), beside
#                  anchor/copy-grpc-objects / -meta (`cat FILE > copy`); the peak RSS of the client
#                  (here) and of the sandbox (VmHWM, in grpc.tsv) for the report's "gRPC" section.
#   filter/...     issue 7, in bench/filter.sh: pach-filter's filter mode on filter-1GiB, a consistent
#                  history whose commit trees are real hashtrees naming 1 GiB of file data
#                  (generate-history --repos 20 --commits 5000 --blocks 1GiB --real-trees, stored as
#                  native): filter/pass (no flag), filter/select (--repo '[a-i]*', ~half the data),
#                  filter/rename (--map-repo), filter/keep-last (--keep-last 1), filter/select-pipe
#                  (the same selection from `cat FILE |`: the spill to a temporary file), beside
#                  anchor/cat-filter-1GiB and anchor/zstd1-filter-1GiB on the same file; and
#                  stream/filter-4GiB: a 4 GiB history generated into `pach-filter --repo '[a-i]*'`
#                  (a pipe, so spilled, with object pruning), never stored, with pach-filter's own peak
#                  RSS, beside stream/generate-cat-filter-4GiB. Each run's --summary (records kept and
#                  dropped per kind) goes to filter.tsv for the report's "Filter (issue 7)" section.
# Every case runs under GNU `/usr/bin/time -f '%e %M'` (wall seconds, peak RSS of the
# largest process), BENCH_RUNS times (median wall, largest RSS); the 8 GiB ones once.
#
# How to run (after the build; `make bench` does both):
#   bash bench/run.sh                                 # everything, ~15 min on 2 cores
#   BENCH_FILTER='^convert/.*-1GiB$' bash bench/run.sh  # regex on case names; the report
#                                                     # then goes to stdout, not BENCHMARKS.md;
#                                                     # only data sets a selected case reads are made
#   BENCH_FILTER='^version/' BENCH_RUNS=1 BENCH_OBJECTS_SIZE=64MiB BENCH_METADATA_SIZE=16MiB bash bench/run.sh
#                                                     # a quick check of the version cases
#   BENCH_FILTER=replay bash bench/run.sh             # only the replay model and its anchors (~2-3 min)
#   BENCH_FILTER=replay BENCH_RUNS=1 BENCH_REPLAY_REPOS=20 BENCH_REPLAY_COMMITS=5000 bash bench/run.sh
#                                                     # a quick check of the replay cases
#   BENCH_FILTER=grpc bash bench/run.sh               # only the gRPC cases and their anchors
#   BENCH_FILTER=grpc BENCH_RUNS=1 BENCH_GRPC_OBJECTS_SIZE=64MiB BENCH_GRPC_META_COMMITS=10000 bash bench/run.sh
#                                                     # a quick check of the gRPC cases (~1 min)
#   BENCH_FILTER=filter bash bench/run.sh             # only the filter cases (issue 7) and their anchors
#   BENCH_FILTER=filter BENCH_RUNS=1 BENCH_FILTER_SIZE=64MiB BENCH_FILTER_STREAM_SIZE=256MiB bash bench/run.sh
#                                                     # a quick check of the filter cases (~1 min)
# Knobs: BENCH_RUNS (3), BENCH_STREAM_RUNS (1; also for gen/ and replay/model), BENCH_SEED (42),
# BENCH_OBJECTS_SIZE (1GiB), BENCH_METADATA_SIZE (256MiB), BENCH_STREAM_SIZE (8GiB),
# BENCH_JQ_SLICE (128MiB), BENCH_GEN_RECORDS (5000000), BENCH_REPLAY_REPOS (1000),
# BENCH_REPLAY_COMMITS (1000000; the data set is named after it: replay-1M), BENCH_GRPC_OBJECTS_SIZE (1GiB),
# BENCH_GRPC_OBJECTS_REPOS (20), BENCH_GRPC_OBJECTS_COMMITS (5000), BENCH_GRPC_META_REPOS (50),
# BENCH_GRPC_META_COMMITS (100000; grpc-meta-100k), BENCH_FILTER_SIZE (1GiB; filter-1GiB),
# BENCH_FILTER_STREAM_SIZE (4GiB), BENCH_FILTER_REPOS (20), BENCH_FILTER_COMMITS (5000),
# BENCH_FILTER_SELECT ('[a-i]*'), BENCH_FILTER_RENAME (scans-0013=scans-renamed), BENCH_OUT (file for the report),
# BENCH_KEEP=1 (keep the data directory), TMPDIR (where the ~12 GB of data sets go, and the 4 GiB spill of stream/filter;
# removed at exit). dist/ is copied there first, so a rebuild during the run is harmless.
#
# How to read: MB/s are over the bytes of the case's input (the JSON for json->native,
# the compressed file for pachctl->native); "stream MB/s" is over the raw framing of the
# same records, so every case of a data set can be compared. "x cat|cat" divides by the
# anchor on the same data set; for version/ cases, "% of pass-through" divides by the
# pass-through on the same file in the same run; replay/ cases count ops/s (every record is
# an op) and compare with cat and zstd -1 reading the same file in the same run; grpc/ cases count
# MB/s of block values and ops/s and compare with a file copy of the same stream; filter/ cases count
# MB/s of the native file read and compare with cat and zstd -1 on it and with filter/pass. The box is
# small and shared: compare cases of one run, not runs of different days; the machine section
# records the load average.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

RUNS=${BENCH_RUNS:-3}
STREAM_RUNS=${BENCH_STREAM_RUNS:-1}
SEED=${BENCH_SEED:-42}
OBJ_SIZE=${BENCH_OBJECTS_SIZE:-1GiB}
META_SIZE=${BENCH_METADATA_SIZE:-256MiB}
STREAM_SIZE=${BENCH_STREAM_SIZE:-8GiB}
JQ_SLICE=${BENCH_JQ_SLICE:-128MiB}
REPLAY_REPOS=${BENCH_REPLAY_REPOS:-1000}
REPLAY_COMMITS=${BENCH_REPLAY_COMMITS:-1000000}
FILTER=${BENCH_FILTER:-}
if [[ -n ${BENCH_OUT:-} ]]; then OUT=$BENCH_OUT
elif [[ -n $FILTER ]]; then OUT=-
else OUT=$ROOT/BENCHMARKS.md
fi

for tool in /usr/bin/time zstd jq node; do
  command -v "$tool" > /dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
[[ -f dist/bench/generate.js && -f dist/bin/pach-convert.js && -f dist/bench/report.js && -f dist/bin/pach-filter.js \
  && -f dist/bench/history.js && -f dist/bench/replay.js && -f dist/bin/pachd-sandbox.js && -f dist/bin/pach-restore.js \
  && -f dist/bin/pach-extract.js && -d node_modules ]] \
  || { echo "bench: build first (npx tsc -p . or make build)" >&2; exit 1; }

# The grpc/ cases (issue 6) live in their own file; it may leave a sandbox running when interrupted.
source "$ROOT/bench/grpc.sh"
# The filter/ cases (issue 7).
source "$ROOT/bench/filter.sh"

D=$(mktemp -d "${TMPDIR:-/tmp}/pach-bench.XXXXXX")
if [[ -n ${BENCH_KEEP:-} ]]; then trap 'grpc_sandbox_down; echo "bench: kept $D" >&2' EXIT; else trap 'grpc_sandbox_down; rm -rf "$D"' EXIT; fi
trap 'exit 130' INT
trap 'exit 143' TERM

# A snapshot of dist/, so a rebuild while the benchmark runs cannot mix two builds in one report.
mkdir -p "$D/app" "$D/bin"
cp -R dist "$D/app/dist"
ln -s "$ROOT/node_modules" "$D/app/node_modules"
ln -s "$ROOT/package.json" "$D/app/package.json"
BUILT=$(date -u -r dist/bin/pach-convert.js '+%Y-%m-%d %H:%M UTC')
# The commands run in $D with these names on PATH, so BENCHMARKS.md can show them as typed.
printf '#!/bin/sh\nexec node %q/app/dist/bin/pach-convert.js "$@"\n' "$D" > "$D/bin/pach-convert"
printf '#!/bin/sh\nexec node %q/app/dist/bench/generate.js "$@"\n' "$D" > "$D/bin/generate"
printf '#!/bin/sh\nexec node %q/app/dist/bin/pach-filter.js "$@"\n' "$D" > "$D/bin/pach-filter"
# (not `history`: that is a bash builtin)
printf '#!/bin/sh\nexec node %q/app/dist/bench/history.js "$@"\n' "$D" > "$D/bin/generate-history"
printf '#!/bin/sh\nexec node --expose-gc %q/app/dist/bench/replay.js "$@"\n' "$D" > "$D/bin/replay-model"
for tool in pachd-sandbox pach-restore pach-extract; do
  printf '#!/bin/sh\nexec node %q/app/dist/bin/%s.js "$@"\n' "$D" "$tool" > "$D/bin/$tool"
done
chmod +x "$D/bin/"*
export PATH="$D/bin:$PATH"

RESULTS=$D/results.tsv
DATASETS=$D/datasets.tsv
MACHINE=$D/machine.tsv
: > "$RESULTS"
: > "$DATASETS"
: > "$D/ladder.tsv"
: > "$D/replay.tsv"

log() { printf 'bench: %s\n' "$*" >&2; }
size_of() { stat -c %s "$1"; }
to_bytes() {
  local s=$1 n unit
  [[ $s =~ ^([0-9]+)([KMGT]i?B?)?$ ]] || { echo "bench: bad size $s" >&2; exit 2; }
  n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]:-}
  case ${unit:0:1} in K) n=$((n << 10)) ;; M) n=$((n << 20)) ;; G) n=$((n << 30)) ;; T) n=$((n << 40)) ;; esac
  echo "$n"
}
selected() { [[ -z $FILTER || $1 =~ $FILTER ]]; }

machine() {
  local cpu
  cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  {
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'cpu\t%s\n' "$cpu"
    printf 'cores\t%s\n' "$(nproc)"
    printf 'ram\t%s\n' "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    printf 'os\t%s\n' "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    printf 'node\t%s\n' "$(node --version)"
    printf 'zstd\t%s\n' "$(zstd --version | grep -o 'v[0-9.]*' | head -1)"
    printf 'jq\t%s\n' "$(jq --version)"
    local dirty
    dirty=$(git status --porcelain -- bin lib 2> /dev/null | wc -l)
    printf 'commit\t%s%s, dist/ built %s\n' "$(git rev-parse --short HEAD 2> /dev/null || echo none)" \
      "$( ((dirty)) && echo " + uncommitted changes in $dirty files under bin/ lib/")" "$BUILT"
    printf 'tmpdir\t%s (%s)\n' "${TMPDIR:-/tmp}" "$(df -T "$D" | awk 'NR == 2 {print $2}')"
    printf 'runs\t%s\n' "$RUNS"
    printf 'stream_runs\t%s\n' "$STREAM_RUNS"
    printf 'seed\t%s\n' "$SEED"
    printf 'filter\t%s\n' "$FILTER"
  } > "$MACHINE"
}

# ---------------------------------------------------------------- data sets

# dataset LABEL MIX SIZE: generates LABEL.raw once; later calls reuse it.
declare -A RECORDS=()
dataset_raw() {
  local label=$1 mix=$2 size=$3
  [[ -f $D/$label.raw ]] && return 0
  log "generating $label ($mix, $size)"
  if ! (cd "$D" && generate --size "$size" --seed "$SEED" --mix "$mix" > "$label.raw" 2> "$label.gen.log"); then
    cat "$D/$label.gen.log" >&2
    exit 1
  fi
  RECORDS[$label]=$(sed -n 's/^generate: \([0-9]*\) records.*/\1/p' "$D/$label.gen.log")
  printf '%s\tgen\t%s\n' "$label" "$(tail -1 "$D/$label.gen.log")" >> "$DATASETS"
  printf '%s\tmix\t%s\n%s\tsize\t%s\n%s\trecords\t%s\n%s\traw\t%s\n' "$label" "$mix" "$label" "$size" \
    "$label" "${RECORDS[$label]}" "$label" "$(size_of "$D/$label.raw")" >> "$DATASETS"
  printf '%s\tversion\t%s\n' "$label" "$(gen_version "$D/$label.gen.log")" >> "$DATASETS"
}

# gen_version LOG: the op version the generator says it wrote (its first stderr line).
gen_version() { sed -n '1s/.* version=\([0-9.]*\).*/\1/p' "$1"; }

# dataset_version LABEL VERSION MIX SIZE: LABEL.native generated at op version VERSION, piped
# straight into pach-convert (the raw stream is not stored: these data sets are only read as
# native). The raw size in the report is the generator's byte count.
dataset_version() {
  local label=$1 version=$2 mix=$3 size=$4
  [[ -f $D/$label.native ]] && return 0
  log "generating $label ($mix, $size, op version $version) as native"
  if ! (cd "$D" && generate --size "$size" --seed "$SEED" --mix "$mix" --version "$version" 2> "$label.gen.log" \
    | pach-convert --quiet --from raw --to native -o "$label.native"); then
    cat "$D/$label.gen.log" >&2
    exit 1
  fi
  RECORDS[$label]=$(sed -n 's/^generate: \([0-9]*\) records.*/\1/p' "$D/$label.gen.log")
  printf '%s\tgen\t%s\n' "$label" "$(tail -1 "$D/$label.gen.log")" >> "$DATASETS"
  printf '%s\tmix\t%s\n%s\tsize\t%s\n%s\trecords\t%s\n%s\tversion\t%s\n' "$label" "$mix" "$label" "$size" \
    "$label" "${RECORDS[$label]}" "$label" "$(gen_version "$D/$label.gen.log")" >> "$DATASETS"
  printf '%s\traw\t%s\n' "$label" "$(sed -n 's/^generate: [0-9]* records, \([0-9]*\) bytes.*/\1/p' "$D/$label.gen.log")" >> "$DATASETS"
  printf '%s\tnative\t%s\n' "$label" "$(size_of "$D/$label.native")" >> "$DATASETS"
}

# need LABEL FRAMING: makes LABEL.FRAMING from the raw stream (pach-convert, or zstd / head for the anchors).
need() {
  local label=$1 framing=$2 mix size
  [[ -f $D/$label.$framing ]] && return 0
  if [[ $label == objects-* ]]; then mix=objects size=$OBJ_SIZE; else mix=metadata size=$META_SIZE; fi
  dataset_raw "$label" "$mix" "$size"
  log "preparing $label.$framing"
  case $framing in
    raw) ;;
    native | pachctl | json)
      (cd "$D" && pach-convert --quiet --from raw --to "$framing" -o "$label.$framing" "$label.raw") ;;
    native.zst)
      need "$label" native
      zstd -q -3 -T1 -c "$D/$label.native" > "$D/$label.native.zst" ;;
    json.slice)
      need "$label" json
      # Whole lines only: drop the line the cut lands in.
      head -c "$(to_bytes "$JQ_SLICE")" "$D/$label.json" | head -n -1 > "$D/$label.json.slice" ;;
  esac
  printf '%s\t%s\t%s\n' "$label" "$framing" "$(size_of "$D/$label.$framing")" >> "$DATASETS"
}

# ---------------------------------------------------------------- measuring

median() { tr ' ' '\n' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# run_case NAME DATASET INPUT_FILE|- RECORDS RUNS 'COMMAND' [RSS_FILE]
# Runs COMMAND (in $D, with pipefail) RUNS times under /usr/bin/time; appends one line to
# results.tsv. RSS_FILE: take the peak RSS from there (a /usr/bin/time -o inside COMMAND)
# instead of from the whole pipeline. RUN_BEFORE / RUN_AFTER, when set (as a prefix of the
# call), name functions run untimed before and after every run: RUN_BEFORE NAME RUN (a failure
# fails the case), RUN_AFTER NAME RUN ok|failed (bench/grpc.sh starts and stops a sandbox there).
run_case() {
  local name=$1 label=$2 input=$3 records=$4 runs=$5 cmd=$6 rss_file=${7:-}
  selected "$name" || return 0
  local walls=() rsss=() status=ok i bytes line wall rss
  log "$name: $cmd"
  for ((i = 1; i <= runs; i++)); do
    if [[ -n ${RUN_BEFORE:-} ]] && ! "$RUN_BEFORE" "$name" "$i"; then
      status=failed
      log "$name: run $i: $RUN_BEFORE failed"
      break
    fi
    if ! (cd "$D" && /usr/bin/time -f '%e %M' -o "$D/time.out" bash -c "set -euo pipefail; $cmd"); then
      status=failed
      log "$name: run $i failed: $(head -1 "$D/time.out")"
      if [[ -n ${RUN_AFTER:-} ]]; then "$RUN_AFTER" "$name" "$i" failed || true; fi
      break
    fi
    if [[ -n ${RUN_AFTER:-} ]] && ! "$RUN_AFTER" "$name" "$i" ok; then
      status=failed
      log "$name: run $i: $RUN_AFTER failed"
      break
    fi
    line=$(tail -1 "$D/time.out")
    wall=${line% *} rss=${line#* }
    [[ -n $rss_file ]] && rss=$(tail -1 "$D/$rss_file" | cut -d' ' -f2)
    walls+=("$wall")
    rsss+=("$rss")
    log "$name: run $i: ${wall} s, ${rss} KiB"
  done
  if [[ $input == - ]]; then bytes=0; else bytes=$(size_of "$D/$input"); fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$label" "$bytes" "$records" \
    "${walls[*]:-}" "${rsss[*]:-}" "$status" "$cmd" >> "$RESULTS"
}

# wants NAME...: true when any of these cases is selected (so unselected data sets are never made).
wants() { local n; for n in "$@"; do selected "$n" && return 0; done; return 1; }

bench_dataset() {
  local label=$1 L=$2 f
  local -a names=(anchor/cat-cat-$L anchor/zstd3-$L anchor/zstd-d-$L anchor/jq-$L
    convert/native-native-$L convert/pachctl-native-$L convert/native-pachctl-$L
    convert/native-json-$L convert/json-native-$L convert/raw-native-$L)
  wants "${names[@]}" || return 0
  # Everything a selected case reads, prepared before any timing starts.
  wants anchor/cat-cat-$L anchor/zstd3-$L convert/native-native-$L convert/native-pachctl-$L convert/native-json-$L && need "$label" native
  wants anchor/zstd-d-$L && need "$label" native.zst
  wants anchor/jq-$L && need "$label" json.slice
  wants convert/pachctl-native-$L && need "$label" pachctl
  wants convert/json-native-$L convert/native-json-$L && need "$label" json
  wants convert/raw-native-$L && need "$label" raw
  local n=${RECORDS[$label]}
  f=$label
  run_case "anchor/cat-cat-$L" "$label" "$f.native" "$n" "$RUNS" "cat $f.native | cat > /dev/null"
  run_case "anchor/zstd3-$L" "$label" "$f.native" "$n" "$RUNS" "zstd -q -3 -T1 -c $f.native > /dev/null"
  run_case "anchor/zstd-d-$L" "$label" "$f.native.zst" "$n" "$RUNS" "zstd -q -dc $f.native.zst > /dev/null"
  run_case "anchor/jq-$L" "$label" "$f.json.slice" 0 "$RUNS" "jq -c . $f.json.slice > /dev/null"
  run_case "convert/native-native-$L" "$label" "$f.native" "$n" "$RUNS" "pach-convert --to native < $f.native | cat > /dev/null"
  run_case "convert/pachctl-native-$L" "$label" "$f.pachctl" "$n" "$RUNS" "pach-convert --to native < $f.pachctl | cat > /dev/null"
  run_case "convert/native-pachctl-$L" "$label" "$f.native" "$n" "$RUNS" "pach-convert --to pachctl < $f.native | cat > /dev/null"
  run_case "convert/native-json-$L" "$label" "$f.native" "$n" "$RUNS" "pach-convert --to json < $f.native | cat > /dev/null"
  run_case "convert/json-native-$L" "$label" "$f.json" "$n" "$RUNS" "pach-convert --from json --to native < $f.json | cat > /dev/null"
  run_case "convert/raw-native-$L" "$label" "$f.raw" "$n" "$RUNS" "pach-convert --to native < $f.raw | cat > /dev/null"
}

# ladder_stats NAME LOG: the -v summary of a version/ case (the last run's) into ladder.tsv:
# case, carried, re-encoded, dropped, records with a loss, the losses ("what ×N at hop", ';'-joined),
# rewritten at byte level.
ladder_stats() {
  local name=$1 log=$D/$2 counts lossy losses spliced
  selected "$name" && [[ -f $log ]] || return 0
  counts=$(sed -n 's/.*: \([0-9]*\) records carried as they were, \([0-9]*\) re-encoded, \([0-9]*\) dropped$/\1\t\2\t\3/p' "$log" | tail -1)
  spliced=$(sed -n 's/.*: \([0-9]*\) records rewritten at byte level.*/\1/p' "$log" | tail -1)
  if [[ -z $counts ]]; then
    log "$name: no conversion summary in $2 (the run failed?); its end:"
    tail -5 "$log" >&2
    return 0
  fi
  lossy=$(sed -n 's/.*warning: \([0-9]*\) records lost something.*/\1/p' "$log" | tail -1)
  losses=$(sed -n 's/.*warning: lost \(.*\) (first in record [0-9]*):.*/\1/p' "$log" | paste -sd ';' -)
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$counts" "${lossy:-0}" "$losses" "${spliced:-0}" >> "$D/ladder.tsv"
}

# bench_version FROM TO MIX SIZE L: the FROM data set of one mix, converted to TO and passed through.
bench_version() {
  local from=$1 to=$2 mix=$3 size=$4 L=$5
  local label=v$from-$L pass=version/pass-$from-$L conv=version/$from-to-$to-$L
  [[ $mix == objects ]] && label=v$from-objects-$L
  wants "$pass" "$conv" || return 0
  dataset_version "$label" "$from" "$mix" "$size"
  local n=${RECORDS[$label]} f=$label.native
  # The reference first, then the conversion, on the same file: only --to-version differs.
  run_case "$pass" "$label" "$f" "$n" "$RUNS" "pach-convert --to native < $f | cat > /dev/null"
  run_case "$conv" "$label" "$f" "$n" "$RUNS" \
    "pach-convert -v --to native --to-version $to < $f 2> version-$from-to-$to-$L.log | cat > /dev/null"
  ladder_stats "$conv" "version-$from-to-$to-$L.log"
}

bench_stream() {
  local L=$1 gen="generate --size $STREAM_SIZE --seed $SEED --mix objects"
  wants "stream/generate-cat-$L" "stream/generate-convert-$L" || return 0
  # The generator says how many records and bytes it wrote; both pipelines get the same stream.
  run_case "stream/generate-cat-$L" "stream-$L" - 0 "$STREAM_RUNS" "$gen 2> gen-cat-$L.log | cat > /dev/null"
  run_case "stream/generate-convert-$L" "stream-$L" - 0 "$STREAM_RUNS" \
    "$gen 2> gen-convert-$L.log | /usr/bin/time -f '%e %M' -o convert-$L.time pach-convert --from raw --to native | cat > /dev/null" "convert-$L.time"
  local log
  for log in "$D/gen-cat-$L.log" "$D/gen-convert-$L.log"; do
    [[ -f $log ]] || continue
    # The generate | cat run shows what the generator can do; the other one runs at pach-convert's pace.
    printf 'stream-%s\tgen\t%s\n' "$L" "$(tail -1 "$log")" >> "$DATASETS"
    printf 'stream-%s\tversion\t%s\n' "$L" "$(gen_version "$log")" >> "$DATASETS"
    printf 'stream-%s\tmix\tobjects\nstream-%s\tsize\t%s\n' "$L" "$L" "$STREAM_SIZE" >> "$DATASETS"
    printf 'stream-%s\trecords\t%s\n' "$L" "$(sed -n 's/^generate: \([0-9]*\) records.*/\1/p' "$log")" >> "$DATASETS"
    printf 'stream-%s\traw\t%s\n' "$L" "$(sed -n 's/^generate: [0-9]* records, \([0-9]*\) bytes.*/\1/p' "$log")" >> "$DATASETS"
    break
  done
}

# How fast the generator itself is on the small-record mix (the objects mix shows in stream/generate-cat).
bench_generator() {
  local n=${BENCH_GEN_RECORDS:-5000000}
  run_case "gen/metadata-cat" "gen-metadata" - "$n" "$STREAM_RUNS" \
    "generate --count $n --seed $SEED --mix metadata 2> gen-metadata.log | cat > /dev/null"
  if [[ -f $D/gen-metadata.log ]]; then
    printf 'gen-metadata\tgen\t%s\ngen-metadata\tmix\tmetadata\ngen-metadata\trecords\t%s\n' "$(tail -1 "$D/gen-metadata.log")" "$n" >> "$DATASETS"
    printf 'gen-metadata\tversion\t%s\n' "$(gen_version "$D/gen-metadata.log")" >> "$DATASETS"
    printf 'gen-metadata\traw\t%s\n' "$(sed -n 's/^generate: [0-9]* records, \([0-9]*\) bytes.*/\1/p' "$D/gen-metadata.log")" >> "$DATASETS"
  fi
}

# human_count N: 1000000 -> 1M, 5000 -> 5k, 1234 -> 1234 (for data set labels).
human_count() {
  local n=$1
  if ((n % 1000000 == 0)); then echo "$((n / 1000000))M"
  elif ((n % 1000 == 0)); then echo "$((n / 1000))k"
  else echo "$n"
  fi
}

# dataset_history LABEL: LABEL.raw, a consistent history from bench/history.ts, made once.
dataset_history() {
  local label=$1
  [[ -f $D/$label.raw ]] && return 0
  log "generating $label (history, $REPLAY_REPOS repos, $REPLAY_COMMITS commits)"
  if ! (cd "$D" && generate-history --repos "$REPLAY_REPOS" --commits "$REPLAY_COMMITS" --seed "$SEED" > "$label.raw" 2> "$label.gen.log"); then
    cat "$D/$label.gen.log" >&2
    exit 1
  fi
  local summary
  summary=$(tail -1 "$D/$label.gen.log")
  RECORDS[$label]=$(sed -n 's/^history: \([0-9]*\) records.*/\1/p' <<< "$summary")
  printf '%s\tgen\t%s\n%s\tmix\thistory\n%s\tsize\t%s repos, %s commits\n' "$label" "$summary" "$label" "$label" "$REPLAY_REPOS" "$REPLAY_COMMITS" >> "$DATASETS"
  printf '%s\trecords\t%s\n%s\traw\t%s\n%s\tversion\t%s\n' "$label" "${RECORDS[$label]}" "$label" "$(size_of "$D/$label.raw")" \
    "$label" "$(sed -n '1s/.* version=\([0-9.]*\).*/\1/p' "$D/$label.gen.log")" >> "$DATASETS"
  printf '%s\tcommits\t%s\n%s\trepos\t%s\n' "$label" "$REPLAY_COMMITS" "$label" "$REPLAY_REPOS" >> "$DATASETS"
}

# The replay model (issue: replay throughput and memory) on a consistent history: pach-filter --verify
# end to end beside cat and zstd -1 on the same file, then bench/replay.ts once for the in-process figures.
bench_replay() {
  local L label f
  L=$(human_count "$REPLAY_COMMITS")
  label=replay-$L f=replay-$L.raw
  wants "anchor/cat-replay-$L" "anchor/zstd1-replay-$L" "replay/verify-$L" "replay/model-$L" || return 0
  dataset_history "$label"
  local n=${RECORDS[$label]}
  run_case "anchor/cat-replay-$L" "$label" "$f" "$n" "$RUNS" "cat $f > /dev/null"
  run_case "anchor/zstd1-replay-$L" "$label" "$f" "$n" "$RUNS" "zstd -q -1 -T1 -c $f > /dev/null"
  run_case "replay/verify-$L" "$label" "$f" "$n" "$RUNS" "pach-filter --verify $f > verify-$L.out"
  if selected "replay/verify-$L" && [[ -f $D/verify-$L.out ]]; then
    # What --verify said: one line when clean, one per problem otherwise.
    printf '%s\tverify_lines\t%s\n%s\tverify_first\t%s\n' "$label" "$(wc -l < "$D/verify-$L.out")" "$label" "$(head -1 "$D/verify-$L.out" | tr '\t' ' ')" >> "$D/replay.tsv"
  fi
  run_case "replay/model-$L" "$label" "$f" "$n" "$STREAM_RUNS" "replay-model $f > replay-model-$L.tsv 2> replay-model-$L.log"
  if selected "replay/model-$L" && [[ -f $D/replay-model-$L.tsv ]]; then
    sed "s/^/$label\t/" "$D/replay-model-$L.tsv" >> "$D/replay.tsv"
    cat "$D/replay-model-$L.log" >&2
  fi
}

START=$(date +%s)
machine
printf 'load_start\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$MACHINE"
bench_dataset "objects-$OBJ_SIZE" "$OBJ_SIZE"
bench_dataset "meta-$META_SIZE" "meta-$META_SIZE"
bench_version 1.7 1.13 objects "$OBJ_SIZE" "$OBJ_SIZE"
bench_version 1.7 1.13 metadata "$META_SIZE" "meta-$META_SIZE"
bench_version 1.13 1.9 objects "$OBJ_SIZE" "$OBJ_SIZE"
bench_version 1.13 1.9 metadata "$META_SIZE" "meta-$META_SIZE"
bench_stream "$STREAM_SIZE"
bench_generator
bench_replay
bench_grpc
bench_filter
printf 'load_end\t%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$MACHINE"
printf 'elapsed\t%s\n' "$(($(date +%s) - START))" >> "$MACHINE"
printf 'jq_slice\t%s\n' "$JQ_SLICE" >> "$MACHINE"

if [[ $OUT == - ]]; then
  node "$D/app/dist/bench/report.js" "$D"
else
  node "$D/app/dist/bench/report.js" "$D" > "$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
  log "wrote $OUT in $(($(date +%s) - START)) s"
fi
