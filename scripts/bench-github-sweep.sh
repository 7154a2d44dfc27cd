#!/usr/bin/env bash
# Measures `bks detect github` end to end: generates N local repositories of
# realistic shape (source-like files, 50–750 commits, packs of 0.4–7.5 MB;
# a key planted in every 20th, deleted two commits later), serves them as a
# GitHub organization on 127.0.0.1 (REST fake + git smart HTTP through
# git-http-backend), and sweeps the organization with the real binary under
# /usr/bin/time -v. Prints repositories/min, MB/min and peak RSS (bks's own,
# sampled from /proc, and the largest of bks and its git children from
# time -v).
#
#   scripts/bench-github-sweep.sh            # 200 repositories, --workers 4
#   N=50 WORKERS=8 scripts/bench-github-sweep.sh
#   WORK=/tmp/bks-bench scripts/bench-github-sweep.sh   # reuse generated repositories
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200}
WORKERS=${WORKERS:-4}
WORK=${WORK:-$(mktemp -d /tmp/bks-gh-bench.XXXXXX)}
mkdir -p "$WORK"
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install time" >&2; exit 2; }
echo "work directory: $WORK"

go build -o "$WORK/bks" ./cmd/bks
go build -o "$WORK/githubfake" ./internal/githubfake/cmd/githubfake

if [ ! -f "$WORK/repos/.done-$N" ]; then
	rm -rf "$WORK/repos"
	echo "generating $N repositories…"
	start=$(date +%s)
	"$WORK/githubfake" gen -dir "$WORK/repos" -n "$N"
	touch "$WORK/repos/.done-$N"
	echo "generated in $(( $(date +%s) - start ))s; on disk: $(du -sh "$WORK/repos" | cut -f1)"
fi

"$WORK/githubfake" serve -dir "$WORK/repos" -org bench >"$WORK/serve.out" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	grep -q '^API_URL=' "$WORK/serve.out" 2>/dev/null && break
	sleep 0.1
done
API_URL=$(sed -n 's/^API_URL=//p' "$WORK/serve.out")
[ -n "$API_URL" ] || { echo "fake did not start"; cat "$WORK/serve.out"; exit 2; }

export TMPDIR="$WORK/tmp"
rm -rf "$TMPDIR"; mkdir -p "$TMPDIR"
set +e
/usr/bin/time -v -o "$WORK/time.txt" "$WORK/bks" detect github --org bench --api-url "$API_URL" \
	--workers "$WORKERS" --format jsonl -o "$WORK/findings.jsonl" --progress-interval 10s 2>"$WORK/stderr.txt" &
TIMEPID=$!
# bks's own peak RSS, read from /proc while it runs.
HWM=0
while kill -0 $TIMEPID 2>/dev/null; do
	BKS=$(pgrep -P $TIMEPID -x bks || true)
	if [ -n "$BKS" ]; then
		v=$(awk '/VmHWM/ {print $2}' "/proc/$BKS/status" 2>/dev/null || echo 0)
		[ -n "$v" ] && [ "$v" -gt "$HWM" ] && HWM=$v
	fi
	sleep 0.2
done
wait $TIMEPID
CODE=$?
set -e

cat "$WORK/stderr.txt" | tail -5
echo "exit code: $CODE (1 = keys found)"
echo "findings: $(wc -l <"$WORK/findings.jsonl")"
grep -E 'Elapsed|Maximum resident|User time|System time|Percent of CPU' "$WORK/time.txt"
echo "bks peak RSS (VmHWM, sampled): $((HWM / 1024)) MB"
