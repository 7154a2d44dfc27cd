#!/usr/bin/env bash
# scripts/bench-serve.sh — what `make bench-serve` runs. See docs/BENCH.md.
#
# Runs the built `bks serve` against the GitHub fake and the AWS emulator
# on 127.0.0.1 (internal/servebench: a seeded account with revoke = true)
# on SQLite, then on PostgreSQL (a throwaway cluster started here in a
# temporary directory on a free loopback port, as the postgres user when
# run as root; skipped with a message when PostgreSQL is not installed):
#   latency  BENCH_SERVE_PUSHES (200) pushes, each with a key of its own, at
#            BENCH_SERVE_RATE (1) per second: push-to-revocation p50/p95/max
#            (goal p95 < 10 s);
#   burst    BENCH_SERVE_BURST (1000) deliveries within 20 s against
#            --max-queue BENCH_SERVE_MAX_QUEUE (250): every answer 202 or 503
#            with Retry-After, replays 200, and after the drain every
#            accepted push processed exactly once in effect (commit statuses in
#            the fake, IAM writes in the emulator);
#   pool     on PostgreSQL, the burst again with --db-conns in
#            BENCH_SERVE_POOLS ("2 5 20"; "" skips): answer times and drain
#            time per pool size.
# BENCH_SERVE_SQLITE=0 skips the SQLite run, BENCH_SERVE_POSTGRES=0 the
# main PostgreSQL run (to measure pool sizes alone). BENCH_SERVE_GIT_PROFILE=1
# splits the git processes' CPU by git command (a bash shim named git on
# bks's PATH, which costs a little CPU of its own).
# Peak RSS is the bks process's VmHWM; CPU its user+sys time with the gits
# it ran. Results go to stdout and $BENCH_DIR/results-serve.md.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-.bench}
PUSHES=${BENCH_SERVE_PUSHES:-200}
RATE=${BENCH_SERVE_RATE:-1}
BURST=${BENCH_SERVE_BURST:-1000}
MAXQ=${BENCH_SERVE_MAX_QUEUE:-250}
POOLS=${BENCH_SERVE_POOLS-2 5 20}
GITPROF=
[ "${BENCH_SERVE_GIT_PROFILE:-0}" = 0 ] || GITPROF=1
BENCH_NAME=bench-serve
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
RESULTS=$BENCH_DIR/results-serve.md
command -v git >/dev/null || die "git is missing"
make --no-print-directory build >/dev/null
go build -o "$BENCH_DIR/servebench" ./internal/servebench/cmd/servebench
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bks-bench-serve.XXXXXX")
PGPID=
cleanup() {
	[ -z "$PGPID" ] || kill -QUIT "$PGPID" 2>/dev/null || true
	[ -z "$PGPID" ] || wait "$PGPID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

{
	echo "# bks serve benchmark ($(date -u +%Y-%m-%dT%H:%MZ))"
	echo
	echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $(bin/bks --version 2>/dev/null | head -1)."
} >"$RESULTS"

run() { # NAME DB SERVE-FLAGS PUSHES BURST
	mkdir -p "$WORK/$1"
	say "$1: bks serve $3 (${4} pushes, ${5} burst)"
	"$BENCH_DIR/servebench" -bks "$PWD/bin/bks" -dir "$WORK/$1" -db "$2" -serve-flags "$3" \
		-pushes "$4" -rate "$RATE" -burst "$5" -out "$RESULTS" ${GITPROF:+-git-profile}
}

[ "${BENCH_SERVE_SQLITE:-1}" = 0 ] || run sqlite "" "--max-queue $MAXQ" "$PUSHES" "$BURST"

# start_pg: a cluster in $WORK/pg on a free port; PGURL names its database.
start_pg() {
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -n "$bin" ] && [ -x "$bin/initdb" ] || return 1
	local as=()
	mkdir -p "$WORK/pg"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$WORK/pg" 2>/dev/null || chown nobody: "$WORK/pg"
		as=(runuser -u "$(stat -c %U "$WORK/pg")" --)
		chmod 755 "$WORK"
	fi
	"${as[@]}" "$bin/initdb" -D "$WORK/pg/data" -U bks --auth=trust -E UTF8 --locale=C --no-instructions >"$WORK/pg/initdb.log" 2>&1
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	# Durable settings (fsync on): the figures are those of a real server.
	"${as[@]}" "$bin/postgres" -D "$WORK/pg/data" -p "$port" -c listen_addresses=127.0.0.1 \
		-c unix_socket_directories="$WORK/pg" -c max_connections=200 >"$WORK/pg/postgres.log" 2>&1 &
	PGPID=$!
	for _ in $(seq 100); do
		"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
		sleep 0.2
	done
	PGBIN=$bin PGPORT_=$port
	PGURL_BASE="postgres://bks@127.0.0.1:$port"
}

if start_pg; then
	newdb() { "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT_" -U bks "$1" && echo "$PGURL_BASE/$1"; }
	[ "${BENCH_SERVE_POSTGRES:-1}" = 0 ] || run postgres "$(newdb bench)" "--max-queue $MAXQ" "$PUSHES" "$BURST"
	for n in $POOLS; do
		run "pool$n" "$(newdb "pool$n")" "--max-queue $MAXQ --db-conns $n" 0 "$BURST"
	done
else
	say "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): its runs are skipped"
	printf '\nPostgreSQL: skipped, not installed (apt-get install postgresql).\n' >>"$RESULTS"
fi
say "results in $RESULTS"
