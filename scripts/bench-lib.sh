# scripts/bench-lib.sh — shared by bench.sh and bench-git.sh (sourced).
# Needs BENCH_NAME (the prefix of messages) and BENCH_DIR (an absolute
# directory for scratch files). WALL_DECIMALS (3) sets WALL's precision.

say() { printf '%s\n' "$BENCH_NAME: $*" >&2; }
die() {
	say "$*"
	exit 2
}

ms_to_s() { awk -v ms="$1" -v d="${2:-3}" 'BEGIN {printf "%.*f", d, ms / 1000}'; }

# measure NAME RUNS OUT CMD...: runs CMD RUNS times, stdout to OUT, and sets
# WALL (best wall time, seconds), CPU (least user + system time, seconds:
# what a loaded machine changes least) and RSS (largest peak RSS over the
# runs, MB: /usr/bin/time's maximum resident set size, the largest single
# process).
# Exit status 0 or 1 is success (1 = keys found); anything else aborts.
measure() {
	local name=$1 runs=$2 out=$3
	shift 3
	local best="" peak=0 cpu="" i t0 t1 rc w r c
	local tfile="$BENCH_DIR/time-$BENCH_NAME.txt" efile="$BENCH_DIR/stderr-$BENCH_NAME.txt"
	for ((i = 1; i <= runs; i++)); do
		t0=$(date +%s%N)
		set +e
		/usr/bin/time -v -o "$tfile" "$@" >"$out" 2>"$efile"
		rc=$?
		set -e
		t1=$(date +%s%N)
		if [ $rc -gt 1 ]; then
			cat "$efile" >&2
			die "$name failed (exit $rc): $*"
		fi
		w=$(((t1 - t0) / 1000000))
		r=$(awk -F': ' '/Maximum resident set size/ {print int($2 / 1024)}' "$tfile")
		c=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1000}' "$tfile")
		say "$name run $i/$runs: $(ms_to_s "$w") s, CPU $(ms_to_s "$c") s, peak RSS $r MB"
		if [ -z "$best" ] || [ "$w" -lt "$best" ]; then best=$w; fi
		if [ -z "$cpu" ] || [ "$c" -lt "$cpu" ]; then cpu=$c; fi
		if [ "$r" -gt "$peak" ]; then peak=$r; fi
	done
	WALL=$(ms_to_s "$best" "${WALL_DECIMALS:-3}")
	CPU=$(ms_to_s "$cpu" 2)
	RSS=$peak
}
