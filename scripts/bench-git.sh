#!/usr/bin/env bash
# scripts/bench-git.sh — what `make bench-git` runs. See docs/BENCH-git.md.
#
# Times `bks detect git` against `gitleaks git` (Bedrock-only rules,
# scripts/gitleaks-bedrock.toml) on
#   real       a public repository with >= 20,000 commits, cloned beforehand
#              OUTSIDE this tree and named by BKS_BENCH_REPO (skipped with a
#              message when unset or absent: nothing is downloaded here);
#   real+keys  a copy of it with 2 keys planted (gengitrepo plant: one in a
#              file added then deleted on a side branch, one appended to
#              README.md on the main line, packed), checked against their
#              ground truth;
#   generated  a history written by internal/benchcorpus/gitrepo with keys
#              planted in it; bks's findings are checked against its ground
#              truth (every key, with the commit that introduced it); then
#              the same history after `git repack -adf` (fast-import leaves
#              most blobs undeltified).
# Wall time is the best of BENCH_RUNS (3); gitleaks runs GITLEAKS_RUNS (1)
# times. Peak RSS comes from /usr/bin/time -v (the largest process: bks or
# a git it started). Unique blob bytes are the sizes of every blob reachable
# from any ref. CPU is user + system time of bks and the gits it ran. The
# split is where bks's wall time went (BKS_GIT_TIMINGS: blob scan,
# attribution, output). Results go to stdout and $BENCH_DIR/results-git.md.
#
# Environment: BKS_BENCH_REPO, BENCH_DIR (.bench), BENCH_RUNS (3),
# GITLEAKS_RUNS (1), BENCH_GIT_COMMITS (20000), BENCH_GIT_SEED (1),
# BKS_PLANT_PATH (README.md: the file at HEAD of BKS_BENCH_REPO that gets a
# key), BKS_BIN (bin/bks, built here: another bks to time, e.g. an older
# build for a before/after table).
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-.bench}
BENCH_RUNS=${BENCH_RUNS:-3}
GITLEAKS_RUNS=${GITLEAKS_RUNS:-1}
BENCH_GIT_COMMITS=${BENCH_GIT_COMMITS:-20000}
BENCH_GIT_SEED=${BENCH_GIT_SEED:-1}
BKS=${BKS_BIN:-$PWD/bin/bks}
case $BENCH_DIR in /*) GEN=$BENCH_DIR/gengitrepo ;; *) GEN=$PWD/$BENCH_DIR/gengitrepo ;; esac
RESULTS=$BENCH_DIR/results-git.md
GL_CONFIG=$PWD/scripts/gitleaks-bedrock.toml
BENCH_NAME=bench-git
WALL_DECIMALS=2
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
command -v git >/dev/null || die "git is missing"
make --no-print-directory build >/dev/null
go build -o "$GEN" ./internal/benchcorpus/gitrepo/cmd/gengitrepo
GITLEAKS=$(command -v gitleaks || true)
[ -n "$GITLEAKS" ] || say "no gitleaks on PATH: gitleaks rows skipped (see docs/BENCH.md to build one)"

# repo_facts DIR: COMMITS and BLOB_BYTES (unique blobs reachable from any ref).
repo_facts() {
	COMMITS=$(git -C "$1" rev-list --all --count)
	BLOB_BYTES=$(git -C "$1" rev-list --objects --all | cut -d' ' -f1 |
		git -C "$1" cat-file --batch-check='%(objecttype) %(objectsize)' |
		awk '$1 == "blob" {s += $2} END {printf "%.0f", s}')
}

ROWS=()
NOTES=()
row() { ROWS+=("$1"); }
note() { NOTES+=("$1"); }

bench_repo() { # LABEL DIR TARGET (gitleaks / bks wall time to reach)
	local label=$1 dir=$2 target=$3 bks_wall bks_rss bks_cpu gl_wall gl_rss mb split
	repo_facts "$dir"
	mb=$(awk "BEGIN {printf \"%.0f\", $BLOB_BYTES / 1e6}")
	# Warm the page cache.
	cat "$dir"/.git/objects/pack/* >/dev/null 2>&1 || true
	BKS_GIT_TIMINGS=1 measure "bks $label" "$BENCH_RUNS" "$BENCH_DIR/bks-git-$label.jsonl" \
		"$BKS" detect git --format jsonl --ignore-errors "$dir"
	bks_wall=$WALL bks_rss=$RSS bks_cpu=$CPU
	# The last run's split: blob scan / attribution / output, seconds.
	split=$(sed -n 's/^bks timings .*: blob scan \([0-9.]*\)s, attribution \([0-9.]*\)s, output \([0-9.]*\)s$/\1 \/ \2 \/ \3/p' \
		"$BENCH_DIR/stderr-$BENCH_NAME.txt" | head -1)
	local nb
	nb=$(wc -l <"$BENCH_DIR/bks-git-$label.jsonl")
	row "| $label | bks detect git | $COMMITS | $mb | $bks_wall | $bks_cpu | ${split:-n/a} | $(awk "BEGIN {printf \"%.0f\", $mb / $bks_wall}") | $bks_rss | $nb | 1.00 |"
	if [ -n "$GITLEAKS" ]; then
		measure "gitleaks $label" "$GITLEAKS_RUNS" "$BENCH_DIR/gitleaks-git-$label.out" \
			"$GITLEAKS" git --no-banner --log-level error --config "$GL_CONFIG" \
			--report-format json --report-path "$BENCH_DIR/gitleaks-git-$label.json" "$dir"
		gl_wall=$WALL gl_rss=$RSS
		local ng
		ng=$(grep -c '"RuleID"' "$BENCH_DIR/gitleaks-git-$label.json" || true)
		row "| $label | gitleaks git (Bedrock-only rules) | $COMMITS | $mb | $gl_wall | $CPU | | $(awk "BEGIN {printf \"%.0f\", $mb / $gl_wall}") | $gl_rss | $ng | $(awk "BEGIN {printf \"%.1f\", $gl_wall / $bks_wall}") |"
		note "$label: gitleaks / bks wall time $(awk "BEGIN {printf \"%.1f\", $gl_wall / $bks_wall}")× (target ≥ ${target}×; gitleaks best of $GITLEAKS_RUNS)"
	fi
	note "$label: bks peak RSS $bks_rss MB (target < 500 MB)"
}

# check_truth LABEL TRUTH: bks's findings of bench_repo LABEL against TRUTH.
check_truth() {
	if "$GEN" verify -truth "$2" -findings "$BENCH_DIR/bks-git-$1.jsonl" >"$BENCH_DIR/verify-git-$1.txt"; then
		note "$1: ground truth $(tail -1 "$BENCH_DIR/verify-git-$1.txt") (every planted key with the commit that introduced it)"
	else
		cat "$BENCH_DIR/verify-git-$1.txt" >&2
		die "$1: bks's findings do not match the ground truth"
	fi
}

# --- generated history with planted keys ---------------------------------------
GEN_DIR=$BENCH_DIR/gitrepo-$BENCH_GIT_COMMITS-$BENCH_GIT_SEED
if [ ! -d "$GEN_DIR/.git" ]; then
	say "generating $BENCH_GIT_COMMITS commits into $GEN_DIR"
	rm -rf "$GEN_DIR"
	"$GEN" gen -out "$GEN_DIR" -truth "$GEN_DIR.truth.jsonl" -commits "$BENCH_GIT_COMMITS" -seed "$BENCH_GIT_SEED"
	git -C "$GEN_DIR" gc -q
fi
bench_repo generated "$GEN_DIR" 5
check_truth generated "$GEN_DIR.truth.jsonl"
if [ ! -d "$GEN_DIR-repacked/.git" ]; then
	say "repacking a copy of $GEN_DIR (git repack -adf)"
	rm -rf "$GEN_DIR-repacked"
	cp -a "$GEN_DIR" "$GEN_DIR-repacked"
	git -C "$GEN_DIR-repacked" repack -adfq
fi
bench_repo generated-repacked "$GEN_DIR-repacked" 5
check_truth generated-repacked "$GEN_DIR.truth.jsonl"

# --- a real repository -----------------------------------------------------------
if [ -n "${BKS_BENCH_REPO:-}" ] && [ -d "$BKS_BENCH_REPO" ]; then
	real=$(basename "$BKS_BENCH_REPO")
	bench_repo "real-$real" "$BKS_BENCH_REPO" 10
	KEYS_DIR=$BENCH_DIR/real-keys-$real
	if [ ! -f "$KEYS_DIR.truth.jsonl" ]; then
		say "copying $BKS_BENCH_REPO to $KEYS_DIR and planting 2 keys (gengitrepo plant)"
		rm -rf "$KEYS_DIR"
		cp -a "$BKS_BENCH_REPO" "$KEYS_DIR"
		"$GEN" plant -repo "$KEYS_DIR" -truth "$KEYS_DIR.truth.jsonl.tmp" -path "${BKS_PLANT_PATH:-README.md}"
		mv "$KEYS_DIR.truth.jsonl.tmp" "$KEYS_DIR.truth.jsonl"
	fi
	bench_repo "real-$real+2keys" "$KEYS_DIR" 10
	check_truth "real-$real+2keys" "$KEYS_DIR.truth.jsonl"
else
	say "BKS_BENCH_REPO is not set or absent: the real-repository rows are skipped (clone one with >= 20,000 commits outside this tree, e.g. git clone https://github.com/git/git /work/peers/git-git, and set BKS_BENCH_REPO)"
	note "real repository: skipped (BKS_BENCH_REPO unset)"
fi

{
	echo "## bks git-history benchmark"
	echo
	echo "$(date -u +%F), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), warm page cache, bks best of $BENCH_RUNS runs."
	echo "bks version $("$BKS" --version 2>/dev/null | head -1 | sed "s/^bks version //"); $(git --version)${GITLEAKS:+; gitleaks $("$GITLEAKS" version 2>/dev/null)}."
	echo
	echo "| input | tool | commits | unique blob MB | wall (s) | CPU (s) | bks split: scan / attribution / output (s) | blob MB/s | peak RSS (MB) | findings | wall ÷ bks |"
	echo "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"
	printf '%s\n' "${ROWS[@]}"
	echo
	for n in "${NOTES[@]}"; do echo "- $n"; done
} | tee "$RESULTS"
