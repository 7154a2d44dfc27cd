#!/usr/bin/env bash
# scripts/bench-image.sh — what `make bench-image` runs (issue 17 §4, "Speed
# and memory"). See docs/BENCH.md, "Container images".
#
# Generates (once per size and generator) an OCI layout holding one image of
# BENCH_IMAGE_MB MiB of source-like text in gzip layers of 64 MiB, and the
# same files unpacked (internal/benchcorpus/cmd/genimage, built on
# go-containerregistry), builds bin/bks, warms the page cache, then runs
# interleaved, BENCH_RUNS times each:
#   bks detect image --tarball OCI-LAYOUT
#   bks detect files UNPACKED
# and prints wall (best), CPU (user+sys, least), peak RSS (largest), MB/s
# and the image ÷ files throughput ratio (target ≥ 0.7; peak RSS < 200 MB),
# also written to .bench/results-image.md.
#
# Environment: BENCH_DIR (.bench), BENCH_IMAGE_MB (1024), BENCH_RUNS (3),
# BKS_WORKERS (bks's --workers; unset: its default).
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-.bench}
BENCH_IMAGE_MB=${BENCH_IMAGE_MB:-1024}
BENCH_RUNS=${BENCH_RUNS:-3}
BKS=bin/bks
RESULTS=$BENCH_DIR/results-image.md
BENCH_NAME=bench-image
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {if (b == 0) print "n/a"; else printf f, a / b}'; }
bytes_of() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}'; }
warm() { find "$@" -type f -print0 | xargs -0 cat >/dev/null; }
best() { if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN {exit !(a < b)}'; then echo "$2"; else echo "$1"; fi; }

make --no-print-directory build >/dev/null
gen=$BENCH_DIR/genimage
go build -o "$gen" ./internal/benchcorpus/cmd/genimage
hash=$(cat internal/benchcorpus/cmd/genimage/*.go internal/testkeys/sourcetext.go | sha256sum | cut -c1-12)
corpus=$BENCH_DIR/image-$BENCH_IMAGE_MB-$hash
if [ ! -f "$corpus/done" ]; then
	rm -rf "$BENCH_DIR"/image-"$BENCH_IMAGE_MB"-*
	say "generating a $BENCH_IMAGE_MB MiB image and its files in $corpus"
	"$gen" -mb "$BENCH_IMAGE_MB" -out "$corpus"
	touch "$corpus/done"
fi
bytes=$(bytes_of "$corpus/rootfs")
mb=$(div "$bytes" 1000000 %.0f)
layers=$(div "$BENCH_IMAGE_MB" 64 %.0f)
say "warming the page cache"
warm "$corpus"

flags=(--format jsonl)
[ -z "${BKS_WORKERS:-}" ] || flags+=(--workers "$BKS_WORKERS")
IW="" IC="" IR=0 FW="" FC="" FR=0
for ((i = 1; i <= BENCH_RUNS; i++)); do
	measure "image" 1 "$BENCH_DIR/bks-image.jsonl" "$BKS" detect image --tarball "$corpus/oci" "${flags[@]}"
	IW=$(best "$IW" "$WALL") IC=$(best "$IC" "$CPU")
	[ "$RSS" -le "$IR" ] || IR=$RSS
	measure "files" 1 "$BENCH_DIR/bks-image-files.jsonl" "$BKS" detect files "$corpus/rootfs" "${flags[@]}"
	FW=$(best "$FW" "$WALL") FC=$(best "$FC" "$CPU")
	[ "$RSS" -le "$FR" ] || FR=$RSS
done

{
	echo "| scan ($mb MB, $layers gzip layers) | wall s (best of $BENCH_RUNS) | CPU s (user+sys, least) | MB/s | peak RSS MB |"
	echo "|---|---|---|---|---|"
	echo "| bks detect image --tarball | $IW | $IC | $(div "$mb" "$IW" %.0f) | $IR |"
	echo "| bks detect files (same files unpacked) | $FW | $FC | $(div "$mb" "$FW" %.0f) | $FR |"
	echo
	echo "image ÷ files throughput: $(div "$FW" "$IW") by wall time (target ≥ 0.7), $(div "$FC" "$IC") by CPU time; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$RESULTS"
