#!/usr/bin/env bash
# scripts/bench-image.sh — what `make bench-image` runs (issue 17 §4, "Speed
# and memory"). See docs/BENCH.md, "Container images".
#
# Generates (once per size and generator: the hash of genimage/main.go)
# one image of BENCH_IMAGE_MB MiB of source-like text in layers of 64 MiB,
# as three OCI layouts that differ
# only in how the layers are stored (tar+gzip, tar+zstd, plain tar), and the
# same files unpacked (internal/benchcorpus/cmd/genimage, built on
# go-containerregistry), builds bin/bks, warms the page cache, then runs
# interleaved, BENCH_RUNS times each:
#   bks detect files UNPACKED
#   for each encoding E of BENCH_ENCODINGS (gzip zstd none):
#     bks detect image --tarball OCI-LAYOUT-E
#     genimage -floor OCI-LAYOUT-E   (decompress every layer, to nowhere,
#                                     as many at once as bks's workers)
#     gzip -dc / zstd -dc / cat of every layer blob, as many at once
# and prints wall (best), CPU (user+sys, least), peak RSS (largest), MB/s,
# the image ÷ files throughput ratio (target ≥ 0.7; peak RSS < 200 MB) and
# bks ÷ the decompression floor, also written to .bench/results-image.md.
#
# Environment: BENCH_DIR (.bench), BENCH_IMAGE_MB (1024), BENCH_RUNS (3),
# BENCH_ENCODINGS ("gzip zstd none"), BKS_WORKERS (bks's --workers; unset:
# its default, the number of CPUs).
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
hash=$(cat internal/benchcorpus/cmd/genimage/main.go internal/testkeys/sourcetext.go | sha256sum | cut -c1-12)
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
par=${BKS_WORKERS:-$(nproc)}
read -ra encodings <<<"${BENCH_ENCODINGS:-gzip zstd none}"
# blobs E: the layer blobs of layout E (the config and manifest are small).
blobs() { find "$corpus/oci-$1/blobs" -type f -size +1M; }
tool() { case $1 in gzip) echo "gzip -dc" ;; zstd) echo "zstd -dcq" ;; none) echo "cat" ;; esac; }
declare -A IW IC IR LW LC TW TC
FW="" FC="" FR=0
for ((i = 1; i <= BENCH_RUNS; i++)); do
	measure "files" 1 "$BENCH_DIR/bks-image-files.jsonl" "$BKS" detect files "$corpus/rootfs" "${flags[@]}"
	FW=$(best "$FW" "$WALL") FC=$(best "$FC" "$CPU")
	[ "$RSS" -le "$FR" ] || FR=$RSS
	for e in "${encodings[@]}"; do
		measure "image $e" 1 "$BENCH_DIR/bks-image-$e.jsonl" "$BKS" detect image --tarball "$corpus/oci-$e" "${flags[@]}"
		IW[$e]=$(best "${IW[$e]:-}" "$WALL") IC[$e]=$(best "${IC[$e]:-}" "$CPU")
		[ "$RSS" -le "${IR[$e]:-0}" ] || IR[$e]=$RSS
		measure "floor $e" 1 /dev/null "$gen" -floor "$corpus/oci-$e" -workers "$par"
		LW[$e]=$(best "${LW[$e]:-}" "$WALL") LC[$e]=$(best "${LC[$e]:-}" "$CPU")
		blobs "$e" >"$BENCH_DIR/blobs-$e.txt"
		# shellcheck disable=SC2046 # the tool's words
		measure "$(tool "$e") $e" 1 /dev/null xargs -P "$par" -n 1 -a "$BENCH_DIR/blobs-$e.txt" $(tool "$e")
		TW[$e]=$(best "${TW[$e]:-}" "$WALL") TC[$e]=$(best "${TC[$e]:-}" "$CPU")
	done
done

{
	echo "| scan ($mb MB, $layers layers) | wall s (best of $BENCH_RUNS) | CPU s (user+sys, least) | MB/s | peak RSS MB | ÷ files, wall | ÷ files, CPU | decompression floor (Go): wall s / CPU s | bks ÷ floor: wall / CPU | gzip -dc, zstd -dc, cat: wall s / CPU s |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	echo "| bks detect files (same files unpacked) | $FW | $FC | $(div "$mb" "$FW" %.0f) | $FR | | | | | |"
	for e in "${encodings[@]}"; do
		echo "| bks detect image --tarball, $e layers | ${IW[$e]} | ${IC[$e]} | $(div "$mb" "${IW[$e]}" %.0f) | ${IR[$e]} | $(div "$FW" "${IW[$e]}") | $(div "$FC" "${IC[$e]}") | ${LW[$e]} / ${LC[$e]} | $(div "${IW[$e]}" "${LW[$e]}") / $(div "${IC[$e]}" "${LC[$e]}") | ${TW[$e]} / ${TC[$e]} |"
	done
	echo
	echo "÷ files: image throughput ÷ detect files throughput (target ≥ 0.7; peak RSS < 200 MB). Floor: every layer decompressed to nowhere, $par at once (bks's workers), klauspost/compress as in bks (genimage -floor), and with the system's gzip/zstd. $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$RESULTS"
