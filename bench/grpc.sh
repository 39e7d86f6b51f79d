# bench/grpc.sh: the grpc/ cases of bench/run.sh (issue 6): pach-restore and pach-extract over
# loopback against pachd-sandbox, beside a file copy of the same stream. Sourced by run.sh, which
# provides D, RUNS, SEED, log, size_of, selected, wants, run_case, human_count and the tool names
# on PATH; not meant to be run on its own.
#
# What it measures, on two consistent 1.12 histories from bench/history.ts (pachd-sandbox
# validates every op as pachd would, so bench/generate.ts streams would be refused):
#   grpc-objects-1GiB   --repos 20 --commits 5000 --blocks 1GiB: a full extract whose block values
#                       come to BENCH_GRPC_OBJECTS_SIZE (the blocks the object index points into,
#                       then file blocks of 1 KiB-10 MiB); ~12 k metadata ops beside them
#   grpc-meta-100k      --repos 50 --commits 100000, no blocks: ~240 k ops, 70 MB
# the cases, each BENCH_RUNS times:
#   grpc/restore-objects, grpc/restore-meta   pach-restore FILE into an empty sandbox, a fresh
#                       sandbox per run (started and stopped untimed, around the timed command)
#   grpc/extract-objects, grpc/extract-meta   pach-extract --to raw > /dev/null from one sandbox
#                       started with --load FILE (untimed; its load time and peak are kept apart)
#   anchor/copy-grpc-objects, anchor/copy-grpc-meta   cat FILE > copy, the same bytes through
#                       the page cache with no protocol at all
# Figures: wall and client peak RSS from run_case's /usr/bin/time (the command is the client
# alone); the sandbox's peak RSS is VmHWM from /proc/PID/status just before it is stopped (for
# extract, reset through /proc/PID/clear_refs before every run, so it is the peak while serving
# that run); pach-restore's and pach-extract's --summary JSON (Restore calls, records out).
# All go to grpc.tsv (case, key, value) for bench/report.ts's "gRPC" section.
#
# Knobs: BENCH_GRPC_OBJECTS_SIZE (1GiB), BENCH_GRPC_OBJECTS_REPOS (20), BENCH_GRPC_OBJECTS_COMMITS
# (5000), BENCH_GRPC_META_REPOS (50), BENCH_GRPC_META_COMMITS (100000). The block data of the index
# alone is ~4.6 KiB per commit (~22 MiB at 5000 commits): a smaller BENCH_GRPC_OBJECTS_SIZE is refused.
# Quick check: BENCH_FILTER=grpc BENCH_RUNS=1 BENCH_GRPC_OBJECTS_SIZE=64MiB BENCH_GRPC_META_COMMITS=10000 bash bench/run.sh

GRPC_OBJ_SIZE=${BENCH_GRPC_OBJECTS_SIZE:-1GiB}
GRPC_OBJ_REPOS=${BENCH_GRPC_OBJECTS_REPOS:-20}
GRPC_OBJ_COMMITS=${BENCH_GRPC_OBJECTS_COMMITS:-5000}
GRPC_META_REPOS=${BENCH_GRPC_META_REPOS:-50}
GRPC_META_COMMITS=${BENCH_GRPC_META_COMMITS:-100000}
# The restored auth makes the sandbox ask every caller for a token; the restoring one becomes root.
# A benchmark-only value, known to nothing else.
export PACH_TOKEN=pach-bench-root-token
GRPC_SANDBOX=

# grpc_dataset LABEL REPOS COMMITS [--blocks SIZE]: LABEL.raw from generate-history, made once.
grpc_dataset() {
  local label=$1 repos=$2 commits=$3
  shift 3
  [[ -f $D/$label.raw ]] && return 0
  log "generating $label (history, $repos repos, $commits commits${1:+ $*})"
  if ! (cd "$D" && generate-history --repos "$repos" --commits "$commits" --seed "$SEED" "$@" > "$label.raw" 2> "$label.gen.log"); then
    cat "$D/$label.gen.log" >&2
    exit 1
  fi
  local summary
  summary=$(tail -1 "$D/$label.gen.log")
  RECORDS[$label]=$(sed -n 's/^history: \([0-9]*\) records.*/\1/p' <<< "$summary")
  # Not "history": that mix gets a Replay model section of its own.
  printf '%s\tgen\t%s\n%s\tmix\t%s\n%s\tsize\t%s repos, %s commits\n' "$label" "$summary" "$label" "$([[ -n ${1:-} ]] && echo 'history + blocks' || echo 'history, no blocks')" \
    "$label" "$repos" "$commits" >> "$DATASETS"
  printf '%s\trecords\t%s\n%s\traw\t%s\n%s\tversion\t%s\n' "$label" "${RECORDS[$label]}" "$label" "$(size_of "$D/$label.raw")" \
    "$label" "$(sed -n '1s/.* version=\([0-9.]*\).*/\1/p' "$D/$label.gen.log")" >> "$DATASETS"
  printf '%s\trepos\t%s\n%s\tcommits\t%s\n%s\tblock_bytes\t%s\n%s\tgen_args\t%s\n' "$label" "$repos" "$label" "$commits" \
    "$label" "$(sed -n 's/.* holding \([0-9]*\) bytes.*/\1/p' <<< "$summary")" "$label" "--repos $repos --commits $commits --seed $SEED${1:+ $*}" >> "$DATASETS"
}

# grpc_sandbox_up ARGS...: a pachd 1.12 sandbox on a free loopback port, in the background
# (GRPC_SANDBOX: its pid, the node process itself; GRPC_PORT: its port, exported for the commands).
grpc_sandbox_up() {
  rm -f "$D/grpc.port"
  (cd "$D" && exec pachd-sandbox --quiet --pachd-version 1.12 --port 0 --port-file grpc.port "$@" 2>> grpc-sandbox.log) &
  GRPC_SANDBOX=$!
  until [[ -s $D/grpc.port ]]; do
    if ! kill -0 "$GRPC_SANDBOX" 2> /dev/null; then
      wait "$GRPC_SANDBOX" || true
      GRPC_SANDBOX=
      log "pachd-sandbox $* exited before listening; the end of grpc-sandbox.log:"
      tail -5 "$D/grpc-sandbox.log" >&2
      return 1
    fi
    sleep 0.05
  done
  GRPC_PORT=$(cat "$D/grpc.port")
  export GRPC_PORT
}

# grpc_sandbox_rss: the sandbox's peak RSS so far, KiB (VmHWM).
grpc_sandbox_rss() { awk '/^VmHWM:/ {print $2}' "/proc/$GRPC_SANDBOX/status"; }

# grpc_sandbox_down: SIGTERM, then up to 60 s for it to close its log; SIGKILL after that.
grpc_sandbox_down() {
  local pid=$GRPC_SANDBOX t
  [[ -n $pid ]] || return 0
  GRPC_SANDBOX=
  kill -TERM "$pid" 2> /dev/null || true
  for ((t = 0; t < 600; t++)); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2> /dev/null; then
    log "pachd-sandbox $pid did not stop on SIGTERM in 60 s; killing it"
    kill -KILL "$pid" 2> /dev/null || true
  fi
  wait "$pid" 2> /dev/null || true
}

# Restore: a fresh, empty sandbox per run.
grpc_restore_before() {
  local name=$1
  rm -f "$D/${name#grpc/}.journal"
  grpc_sandbox_up
}
grpc_restore_after() {
  local name=$1 run=$2 status=$3
  printf '%s\tsandbox_rss\t%s\n' "$name" "$(grpc_sandbox_rss)" >> "$D/grpc.tsv"
  grpc_sandbox_down
  [[ $status == ok ]] || return 0
  # The client's own account of the run (the last run's is the one the report shows).
  printf '%s\tsummary\t%s\n' "$name" "$(tr -d '\n' < "$D/${name#grpc/}.summary.json")" >> "$D/grpc.tsv"
}

# Extract: one sandbox for every run; its peak is reset before each run.
grpc_extract_before() {
  if echo 5 2> /dev/null > "/proc/$GRPC_SANDBOX/clear_refs"; then
    printf '%s\trss_reset\tyes\n' "$1" >> "$D/grpc.tsv"
  else
    printf '%s\trss_reset\tno\n' "$1" >> "$D/grpc.tsv"
  fi
}
grpc_extract_after() {
  local name=$1 run=$2 status=$3
  printf '%s\tsandbox_rss\t%s\n' "$name" "$(grpc_sandbox_rss)" >> "$D/grpc.tsv"
  [[ $status == ok ]] || return 0
  printf '%s\tsummary\t%s\n' "$name" "$(tr -d '\n' < "$D/${name#grpc/}.summary.json")" >> "$D/grpc.tsv"
}

# grpc_pair WHAT LABEL: the anchor, the restore and the extract of one data set.
grpc_pair() {
  local what=$1 label=$2 f=$2.raw
  local n=${RECORDS[$label]}
  run_case "anchor/copy-grpc-$what" "$label" "$f" "$n" "$RUNS" "cat $f > copy-$what.raw"
  rm -f "$D/copy-$what.raw"
  RUN_BEFORE=grpc_restore_before RUN_AFTER=grpc_restore_after run_case "grpc/restore-$what" "$label" "$f" "$n" "$RUNS" \
    "pach-restore --pachd 127.0.0.1:\$GRPC_PORT --journal restore-$what.journal --summary restore-$what.summary.json $f"
  if selected "grpc/extract-$what"; then
    local t0 t1
    t0=$(date +%s.%N)
    if ! grpc_sandbox_up --load "$f"; then
      printf '%s\t%s\t%s\t%s\t\t\tfailed\t%s\n' "grpc/extract-$what" "$label" "$(size_of "$D/$f")" "$n" "pachd-sandbox --load $f" >> "$RESULTS"
      return 0
    fi
    t1=$(date +%s.%N)
    printf '%s\tload_seconds\t%s\n%s\tload_rss\t%s\n' "grpc/extract-$what" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" \
      "grpc/extract-$what" "$(grpc_sandbox_rss)" >> "$D/grpc.tsv"
    RUN_BEFORE=grpc_extract_before RUN_AFTER=grpc_extract_after run_case "grpc/extract-$what" "$label" "$f" "$n" "$RUNS" \
      "pach-extract --pachd 127.0.0.1:\$GRPC_PORT --to raw --summary extract-$what.summary.json > /dev/null"
    grpc_sandbox_down
  fi
}

bench_grpc() {
  local objects=grpc-objects-$GRPC_OBJ_SIZE meta
  meta=grpc-meta-$(human_count "$GRPC_META_COMMITS")
  : > "$D/grpc.tsv"
  if wants anchor/copy-grpc-objects grpc/restore-objects grpc/extract-objects; then
    grpc_dataset "$objects" "$GRPC_OBJ_REPOS" "$GRPC_OBJ_COMMITS" --blocks "$GRPC_OBJ_SIZE"
    grpc_pair objects "$objects"
  fi
  if wants anchor/copy-grpc-meta grpc/restore-meta grpc/extract-meta; then
    grpc_dataset "$meta" "$GRPC_META_REPOS" "$GRPC_META_COMMITS"
    grpc_pair meta "$meta"
  fi
}
