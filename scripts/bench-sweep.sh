#!/usr/bin/env bash
# scripts/bench-sweep.sh — what `make bench-sweep` runs. See docs/BENCH.md.
#
# Sweeps an organization of N (200) generated repositories of realistic
# shape (source-like files, 45–750 commits, packs of 0.4–7.5 MB; a key
# planted in every 20th, deleted two commits later) with the real binary on
# each host's fake on 127.0.0.1, git history served over smart HTTP
# (git-http-backend):
#   github       bks detect github --org: the REST fake;
#   gitlab       bks detect gitlab --group --snippets: the same repositories
#                as a group's projects, each with a snippet (a small git
#                repository of its own; a key in every 25th);
#   huggingface  bks detect huggingface --org: the same repositories as
#                models, datasets and Spaces in turn;
#   comments     the issues, comments and review comments of 200
#                repositories on the GitHub fake (go test -bench
#                CommentsOrg in sources/github): repositories/min, texts/s.
# Every planted key must be reported at its file, line and commit with a
# link to it on the host (githubfake verify against the ground truth
# written at generation); anything else fails the run.
#
# Prints, per host: wall and CPU time (user + sys of bks and its git
# children), repositories/min, items/s (git repositories cloned and scanned:
# projects and snippets on GitLab; comments bench: texts), bks's own peak
# RSS (VmHWM sampled from /proc) and the largest of bks and any git child
# (time -v). Results go to stdout and $BENCH_DIR/results-sweep.md.
#
# Environment: BENCH_DIR (.bench), BENCH_SWEEP_N (200), BENCH_SWEEP_WORKERS
# (4), BENCH_SWEEP_HOSTS ("github gitlab huggingface comments"). The
# generated repositories stay in $BENCH_DIR/sweep-N for the next run.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-.bench}
N=${BENCH_SWEEP_N:-200}
WORKERS=${BENCH_SWEEP_WORKERS:-4}
HOSTS=${BENCH_SWEEP_HOSTS:-github gitlab huggingface comments}
BENCH_NAME=bench-sweep
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

[ -x /usr/bin/time ] || die "needs GNU time: apt-get install time"
command -v git >/dev/null || die "git is missing"
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
RESULTS=$BENCH_DIR/results-sweep.md
DATA=$BENCH_DIR/sweep-$N
mkdir -p "$DATA"
BIN=$BENCH_DIR/sweep-bin
mkdir -p "$BIN"
go build -o "$BIN/bks" ./cmd/bks
for f in githubfake gitlabfake hffake; do
	go build -o "$BIN/$f" "./internal/$f/cmd/$f"
done
TOKEN=bench-token-not-a-secret

gen() { # DIR TRUTH ARGS...: generate once (a .done marker), with its truth
	local dir=$1 truth=$2
	shift 2
	[ -f "$dir/.done" ] && [ -f "$truth" ] && return
	rm -rf "$dir"
	say "generating $dir…"
	local t0
	t0=$(date +%s)
	"$BIN/githubfake" gen -dir "$dir" -n "$N" -truth "$truth" "$@"
	touch "$dir/.done"
	say "generated in $(($(date +%s) - t0)) s; on disk: $(du -sh "$dir" | cut -f1)"
}
gen "$DATA/repos" "$DATA/repos.truth.jsonl"
# Snippets: 5–25 small files, 2–25 commits, a key in every 25th.
gen "$DATA/snippets" "$DATA/snippets.truth.jsonl" -seed 2 -files 5 -commits 5 -file-size 800 -key-every 25

SERVER=
stop_server() {
	[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
	[ -z "$SERVER" ] || wait "$SERVER" 2>/dev/null || true
	SERVER=
}
trap stop_server EXIT

# start_server OUT CMD...: runs a fake, waits for its URL= line, sets URL.
start_server() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	SERVER=$!
	for _ in $(seq 100); do
		grep -q '^\(API_\)\?URL=' "$out" 2>/dev/null && break
		sleep 0.1
	done
	URL=$(sed -n 's/^\(API_\)\?URL=//p' "$out")
	[ -n "$URL" ] || die "fake did not start: $(cat "$out")"
}

{
	echo "# Sweep benchmark ($(date -u +%Y-%m-%dT%H:%MZ))"
	echo
	echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $N repositories ($(du -sh "$DATA/repos" | cut -f1) on disk), --workers $WORKERS."
	echo
	echo "| host | wall | CPU (user+sys) | repositories/min | items/s | planted keys found with their link | bks peak RSS | peak RSS, bks or any git child |"
	echo "|---|---|---|---|---|---|---|---|"
} >"$RESULTS"

# sweep NAME ITEMS BASE TRUTHS -- BKS-ARGS...: runs bks under time -v,
# sampling its VmHWM; checks the findings against the truth files
# (space-separated) with links under BASE; appends a row.
sweep() {
	local name=$1 items=$2 base=$3 truths=$4
	shift 5
	local out=$BENCH_DIR/sweep-$name.jsonl tfile=$BENCH_DIR/sweep-$name.time err=$BENCH_DIR/sweep-$name.stderr
	local tmp=$BENCH_DIR/sweep-tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	say "$name: bks $*"
	local t0 t1 rc hwm=0 pid v
	t0=$(date +%s%N)
	set +e
	# From an empty directory: no .bks.toml of this repository applies.
	(cd "$tmp" && TMPDIR=$tmp exec /usr/bin/time -v -o "$tfile" "$BIN/bks" "$@" --workers "$WORKERS" -f jsonl -o "$out" --progress-interval 10s 2>"$err") &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		v=$(pgrep -P $pid -x bks || true)
		if [ -n "$v" ]; then
			v=$(awk '/VmHWM/ {print $2}' "/proc/$v/status" 2>/dev/null || echo 0)
			[ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
		fi
		sleep 0.2
	done
	wait $pid
	rc=$?
	set -e
	t1=$(date +%s%N)
	rm -rf "$tmp"
	tail -3 "$err" >&2
	[ $rc -le 1 ] || die "$name: bks exited $rc (see $err)"
	local truthargs=() t
	for t in $truths; do truthargs+=(-truth "$t"); done
	"$BIN/githubfake" verify "${truthargs[@]}" -findings "$out" -base "$base" >"$BENCH_DIR/sweep-$name.verify" ||
		die "$name: findings do not match the ground truth: $(cat "$BENCH_DIR/sweep-$name.verify")"
	local wall cpu rss keys
	wall=$(((t1 - t0) / 1000000))
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1000}' "$tfile")
	rss=$(awk -F': ' '/Maximum resident set size/ {print int($2 / 1024)}' "$tfile")
	keys=$(head -1 "$BENCH_DIR/sweep-$name.verify" | sed -E 's/^planted ([0-9]+), found ([0-9]+).*/\2 of \1/')
	say "$name: $(ms_to_s $wall 1) s, CPU $(ms_to_s "$cpu" 1) s; $(head -1 "$BENCH_DIR/sweep-$name.verify")"
	awk -v n="$name" -v w="$wall" -v c="$cpu" -v r="$N" -v i="$items" -v k="$keys" -v h="$((hwm / 1024))" -v m="$rss" \
		'BEGIN {printf "| %s | %.1f s | %.1f s | %.0f | %.1f | %s | %d MB | %d MB |\n", n, w/1000, c/1000, r*60000/w, i*1000/w, k, h, m}' >>"$RESULTS"
}

for host in $HOSTS; do
	case $host in
	github)
		start_server "$BENCH_DIR/sweep-server.out" "$BIN/githubfake" serve -dir "$DATA/repos" -org bench
		sweep github "$N" "${URL%/api/v3/}/bench/" "$DATA/repos.truth.jsonl" -- \
			detect github --org bench --api-url "$URL"
		stop_server
		;;
	gitlab)
		start_server "$BENCH_DIR/sweep-server.out" "$BIN/gitlabfake" serve -dir "$DATA/repos" -snippets "$DATA/snippets" -group bench -token "$TOKEN"
		GITLAB_TOKEN=$TOKEN sweep gitlab "$((2 * N))" "$URL/bench/" "$DATA/repos.truth.jsonl $DATA/snippets.truth.jsonl" -- \
			detect gitlab --group bench --snippets --api-url "$URL"
		stop_server
		;;
	huggingface)
		start_server "$BENCH_DIR/sweep-server.out" "$BIN/hffake" serve -dir "$DATA/repos" -org bench -token "$TOKEN"
		HF_TOKEN=$TOKEN sweep huggingface "$N" "$URL/" "$DATA/repos.truth.jsonl" -- \
			detect huggingface --org bench --api-url "$URL"
		stop_server
		;;
	comments)
		say "comments: go test -bench CommentsOrg ./sources/github"
		go test -c -o "$BIN/github.test" ./sources/github
		/usr/bin/time -v -o "$BENCH_DIR/sweep-comments.time" "$BIN/github.test" -test.run '^$' -test.bench '^BenchmarkCommentsOrg$' -test.benchtime 1x >"$BENCH_DIR/sweep-comments.out"
		cat "$BENCH_DIR/sweep-comments.out" >&2
		awk -v f="$BENCH_DIR/sweep-comments.time" '
			/^BenchmarkCommentsOrg/ {for (i = 1; i < NF; i++) {if ($(i+1) == "ns/op") ns = $i; if ($(i+1) == "repos/min") rm = $i; if ($(i+1) == "texts/s") ts = $i}}
			END {
				while ((getline l < f) > 0) {split(l, a, ": "); if (l ~ /User time|System time/) cpu += a[2]; if (l ~ /Maximum resident/) rss = int(a[2] / 1024)}
				printf "| comments (issues, comments, review comments) | %.1f s | %.1f s | %.0f | %.0f texts/s | 200 of 200 (counted, links not checked) | %d MB | %d MB |\n", ns/1e9, cpu, rm, ts, rss, rss
			}' "$BENCH_DIR/sweep-comments.out" >>"$RESULTS"
		;;
	*) die "unknown host $host (github, gitlab, huggingface, comments)" ;;
	esac
done

{
	echo
	echo "items/s: git repositories cloned and scanned per second (GitLab: projects and their snippets, 2N); comments: issue, pull request, comment and review comment texts per second. CPU is bks's and its git children's (the comments bench: the test binary, fake included); the fakes' git-http-backend runs on the same cores."
} >>"$RESULTS"
cat "$RESULTS"
