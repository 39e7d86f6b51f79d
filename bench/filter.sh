# bench/filter.sh: the filter/ cases of bench/run.sh (issue 7): pach-filter's filter mode
# (selection, renaming, history trimming, object pruning, the spill of a piped input) beside
# pass-through and the Unix anchors on the same file, and a 4 GiB stream filtered from a pipe.
# Sourced by run.sh, which provides D, RUNS, STREAM_RUNS, SEED, RECORDS, DATASETS, RESULTS, log,
# size_of, selected, wants, run_case and the tool names on PATH; not meant to be run on its own.
#
# Data: consistent 1.12 histories from bench/history.ts with --blocks SIZE --real-trees, so every
# commit's tree is a real hashtree naming the file data (input commits: DB trees whose files are
# objects indexed into blocks; output and stats commits: kv trees of block_refs), and pruning
# really drops the data of what a run drops:
#   filter-1GiB         --repos 20 --commits 5000 --blocks BENCH_FILTER_SIZE --real-trees, piped
#                       into pach-convert and stored as native (~1.05 GiB: 1 GiB of file data
#                       in ~900 blocks, 93 blocks of trees and datums, ~15 k records)
#   filter-stream-4GiB  the same history with --blocks BENCH_FILTER_STREAM_SIZE, never stored
# the cases, each under /usr/bin/time, BENCH_RUNS times (the stream ones BENCH_STREAM_RUNS):
#   anchor/cat-filter-1GiB     cat FILE > /dev/null
#   anchor/zstd1-filter-1GiB   zstd -1 -T1 -c FILE > /dev/null
#   filter/pass-1GiB           pach-filter FILE > /dev/null: no flag, every record kept: the cost of
#                              reading, checking and re-framing, the reference for the cases below
#   filter/select-1GiB         --repo '[a-i]*': 9 of the 18 input repos and the pipeline
#                              index-orders-0018 (which pulls in scans-0013 and clicks-0004);
#                              thumbs-scans-0019 and the rest go, with their data (~55 % of the
#                              file data kept at seed 42)
#   filter/rename-1GiB         --map-repo scans-0013=scans-renamed: an input repo that a pipeline
#                              reads; nothing dropped, so no pruning; commits re-encoded
#   filter/keep-last-1GiB      --keep-last 1: each branch's head (and its provenance); the trees of
#                              heads name few file blocks, so most of the data goes (~13 % of the
#                              bytes kept at seed 42)
#   filter/select-pipe-1GiB    cat FILE | pach-filter --repo '[a-i]*': the same selection from a
#                              pipe, which is spilled to a temporary file ($TMPDIR) and read again
#   stream/generate-cat-filter-4GiB   generate-history … --blocks 4GiB --real-trees | cat > /dev/null
#   stream/filter-4GiB         generate-history … | pach-filter --repo '[a-i]*' > /dev/null: 4 GiB
#                              from a pipe (spilled: ~4 GiB in $TMPDIR meanwhile) with object
#                              pruning; the peak RSS is pach-filter's alone (its own /usr/bin/time)
# Every pach-filter case writes --summary JSON (records and bytes in and out, dropped and changed
# per kind); the last run's goes to filter.tsv (case, key, value) for bench/report.ts's "Filter
# (issue 7)" section, with the data sets' figures from the generator.
#
# Knobs: BENCH_FILTER_SIZE (1GiB), BENCH_FILTER_STREAM_SIZE (4GiB), BENCH_FILTER_REPOS (20),
# BENCH_FILTER_COMMITS (5000), BENCH_FILTER_SELECT ('[a-i]*', the --repo glob of select, select-pipe
# and the stream), BENCH_FILTER_RENAME (scans-0013=scans-renamed). Other --repos/--commits/--seed
# values change the repo names and the share a glob keeps: check the summaries.
# Quick check: BENCH_FILTER=filter BENCH_RUNS=1 BENCH_FILTER_SIZE=64MiB BENCH_FILTER_STREAM_SIZE=256MiB bash bench/run.sh

FILTER_SIZE=${BENCH_FILTER_SIZE:-1GiB}
FILTER_STREAM_SIZE=${BENCH_FILTER_STREAM_SIZE:-4GiB}
FILTER_REPOS=${BENCH_FILTER_REPOS:-20}
FILTER_COMMITS=${BENCH_FILTER_COMMITS:-5000}
FILTER_SELECT=${BENCH_FILTER_SELECT:-'[a-i]*'}
FILTER_RENAME=${BENCH_FILTER_RENAME:-scans-0013=scans-renamed}

# filter_gen_args SIZE: the generator's arguments for a filter data set of SIZE bytes of file data.
filter_gen_args() { echo "--repos $FILTER_REPOS --commits $FILTER_COMMITS --seed $SEED --blocks $1 --real-trees"; }

# filter_dataset_facts LABEL LOG: what the generator said about LABEL, into datasets.tsv.
filter_dataset_facts() {
  local label=$1 log=$2 summary
  summary=$(tail -1 "$log")
  RECORDS[$label]=$(sed -n 's/^history: \([0-9]*\) records.*/\1/p' <<< "$summary")
  printf '%s\tgen\t%s\n%s\tmix\thistory + real trees\n%s\tsize\t%s repos, %s commits\n' "$label" "$summary" "$label" \
    "$label" "$FILTER_REPOS" "$FILTER_COMMITS" >> "$DATASETS"
  printf '%s\trecords\t%s\n%s\traw\t%s\n%s\tversion\t%s\n' "$label" "${RECORDS[$label]}" \
    "$label" "$(sed -n 's/^history: [0-9]* records, \([0-9]*\) bytes.*/\1/p' <<< "$summary")" \
    "$label" "$(sed -n '1s/.* version=\([0-9.]*\).*/\1/p' "$log")" >> "$DATASETS"
  printf '%s\trepos\t%s\n%s\tcommits\t%s\n%s\tblock_bytes\t%s\n%s\tfile_bytes\t%s\n' "$label" "$FILTER_REPOS" "$label" "$FILTER_COMMITS" \
    "$label" "$(sed -n 's/.* holding \([0-9]*\) bytes.*/\1/p' <<< "$summary")" \
    "$label" "$(sed -n 's/.* bytes (\([0-9]*\) of file data).*/\1/p' <<< "$summary")" >> "$DATASETS"
}

# filter_dataset LABEL SIZE: LABEL.native, generated and converted in one pipe, made once.
filter_dataset() {
  local label=$1 size=$2 args
  [[ -f $D/$label.native ]] && return 0
  args=$(filter_gen_args "$size")
  log "generating $label (history, $args) as native"
  # shellcheck disable=SC2086  # args is a list of words
  if ! (cd "$D" && generate-history $args 2> "$label.gen.log" | pach-convert --quiet --from raw --to native -o "$label.native"); then
    cat "$D/$label.gen.log" >&2
    exit 1
  fi
  filter_dataset_facts "$label" "$D/$label.gen.log"
  printf '%s\tnative\t%s\n%s\tgen_args\t%s\n' "$label" "$(size_of "$D/$label.native")" "$label" "$args" >> "$DATASETS"
}

# filter_summary NAME FILE: the last run's --summary JSON of case NAME into filter.tsv.
filter_summary() {
  local name=$1 file=$D/$2
  selected "$name" && [[ -f $file ]] || return 0
  printf '%s\tsummary\t%s\n' "$name" "$(tr -d '\n' < "$file")" >> "$D/filter.tsv"
  rm -f "$file"
}

bench_filter() {
  local L=$FILTER_SIZE S=$FILTER_STREAM_SIZE label f n sel
  label=filter-$L f=filter-$L.native
  # Quoted as a user would type it (the glob holds no single quote).
  sel="'$FILTER_SELECT'"
  : > "$D/filter.tsv"
  printf 'select\t%s\nrename\t%s\n' "$FILTER_SELECT" "$FILTER_RENAME" | sed 's/^/config\t/' >> "$D/filter.tsv"
  if wants "anchor/cat-filter-$L" "anchor/zstd1-filter-$L" "filter/pass-$L" "filter/select-$L" "filter/rename-$L" \
    "filter/keep-last-$L" "filter/select-pipe-$L"; then
    filter_dataset "$label" "$L"
    n=${RECORDS[$label]}
    run_case "anchor/cat-filter-$L" "$label" "$f" "$n" "$RUNS" "cat $f > /dev/null"
    run_case "anchor/zstd1-filter-$L" "$label" "$f" "$n" "$RUNS" "zstd -q -1 -T1 -c $f > /dev/null"
    run_case "filter/pass-$L" "$label" "$f" "$n" "$RUNS" "pach-filter --summary pass.json $f > /dev/null"
    filter_summary "filter/pass-$L" pass.json
    run_case "filter/select-$L" "$label" "$f" "$n" "$RUNS" "pach-filter --repo $sel --summary select.json $f > /dev/null"
    filter_summary "filter/select-$L" select.json
    run_case "filter/rename-$L" "$label" "$f" "$n" "$RUNS" "pach-filter --map-repo $FILTER_RENAME --summary rename.json $f > /dev/null"
    filter_summary "filter/rename-$L" rename.json
    run_case "filter/keep-last-$L" "$label" "$f" "$n" "$RUNS" "pach-filter --keep-last 1 --summary keep-last.json $f > /dev/null"
    filter_summary "filter/keep-last-$L" keep-last.json
    run_case "filter/select-pipe-$L" "$label" "$f" "$n" "$RUNS" "cat $f | pach-filter --repo $sel --summary select-pipe.json > /dev/null"
    filter_summary "filter/select-pipe-$L" select-pipe.json
  fi
  if wants "stream/generate-cat-filter-$S" "stream/filter-$S"; then
    local slabel=filter-stream-$S gen
    gen="generate-history $(filter_gen_args "$S")"
    run_case "stream/generate-cat-filter-$S" "$slabel" - 0 "$STREAM_RUNS" "$gen 2> filter-stream-cat.log | cat > /dev/null"
    run_case "stream/filter-$S" "$slabel" - 0 "$STREAM_RUNS" \
      "$gen 2> filter-stream.log | /usr/bin/time -f '%e %M' -o filter-stream.time pach-filter --repo $sel --summary filter-stream.json > /dev/null" filter-stream.time
    filter_summary "stream/filter-$S" filter-stream.json
    local log
    for log in "$D/filter-stream-cat.log" "$D/filter-stream.log"; do
      [[ -f $log ]] || continue
      filter_dataset_facts "$slabel" "$log"
      printf '%s\tgen_args\t%s\n' "$slabel" "$(filter_gen_args "$S")" >> "$DATASETS"
      break
    done
  fi
}
