#!/usr/bin/env bash
# scripts/bench.sh — what `make bench` runs. See docs/BENCH.md.
#
# Generates the benchmark corpus into .bench/ (once; regenerated when the
# generator, size or seed change), builds bin/bks, warms the page cache, then
# times, best of BENCH_RUNS:
#   files    bks detect files vs ripgrep (same two patterns) vs gitleaks
#            (Bedrock-only rules; skipped when no gitleaks is on PATH), and
#            checks bks's findings against the corpus's ground truth;
#   aws      bks vs ripgrep on AWS-heavy text (SDK docs, Terraform,
#            CloudFormation) with an access key id every BENCH_AWS_EVERY
#            lines (realistic) and every 40 lines (dense), each checked
#            against its ground truth;
#   gotree   bks vs ripgrep on small files: GOROOT/src copied until
#            BENCH_GOTREE_SIZE, and the AWS SDK modules of the Go module
#            cache copied until BENCH_SDK_SIZE (skipped when absent);
#   oneline  one single-line file of BENCH_ONELINE_SIZE (keys at start,
#            middle, end): bks's peak RSS, ripgrep's for comparison;
#   engine   the detector engine's Go benchmarks (go test -bench).
# and prints a markdown table, also written to .bench/results.md.
#
# Stages run in the order of BENCH_STAGES. A stage is a function stage_NAME
# that calls `measure` for each tool and `row` for each line of the table;
# a git-history stage (issue 3) is added the same way: a stage_git function
# and "git" in BENCH_STAGES.
#
# bks and ripgrep run interleaved (bks, rg, rg -z, bks --no-archives, bks,
# rg…): a load that comes and goes on a shared machine hits them alike.
#
# Environment: BENCH_DIR (.bench), BENCH_SIZE (1GiB), BENCH_SEED (1),
# BENCH_RUNS (3), GITLEAKS_RUNS (1: a run takes minutes), BENCH_ONELINE_SIZE
# (2GiB), BENCH_AWS_SIZE (BENCH_SIZE), BENCH_AWS_EVERY (2000),
# BENCH_GOTREE_SIZE (256MiB), BENCH_SDK_SIZE (317MiB), BENCH_STAGES
# (files,aws,gotree,oneline,engine).
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-.bench}
BENCH_SIZE=${BENCH_SIZE:-1GiB}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_RUNS=${BENCH_RUNS:-3}
GITLEAKS_RUNS=${GITLEAKS_RUNS:-1}
BENCH_ONELINE_SIZE=${BENCH_ONELINE_SIZE:-2GiB}
BENCH_AWS_SIZE=${BENCH_AWS_SIZE:-$BENCH_SIZE}
BENCH_AWS_EVERY=${BENCH_AWS_EVERY:-2000}
BENCH_GOTREE_SIZE=${BENCH_GOTREE_SIZE:-256MiB}
BENCH_SDK_SIZE=${BENCH_SDK_SIZE:-317MiB}
BENCH_STAGES=${BENCH_STAGES:-files,aws,gotree,oneline,engine}
BKS=bin/bks
GENCORPUS=$BENCH_DIR/gencorpus
RESULTS=$BENCH_DIR/results.md
# The patterns ripgrep gets: the two key prefixes and the key alphabet.
RG_PATTERNS=(-e 'ABSK[A-Za-z0-9]{20,}={0,2}' -e 'bedrock-api-key-[A-Za-z0-9]{20,}={0,2}')
BENCH_NAME=bench
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

# --- tools -------------------------------------------------------------------

apt_install() {
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	say "installing $*"
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_tools() {
	local need=()
	[ -x /usr/bin/time ] || need+=(time)
	command -v rg >/dev/null 2>&1 || need+=(ripgrep)
	[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
	make --no-print-directory build >/dev/null
	go build -o "$GENCORPUS" ./internal/benchcorpus/cmd/gencorpus
}

# --- measuring -----------------------------------------------------------------

div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {if (b == 0) print "n/a"; else printf f, a / b}'; }

# Bytes of all regular files under a path.
bytes_of() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}'; }

warm() { find "$@" -type f -print0 | xargs -0 cat >/dev/null; }

# vs_rg NAME LABEL DIR [TRUTH]: bks detect files and rg on DIR, interleaved,
# BENCH_RUNS runs each; adds their rows and a ratio, checks bks's findings
# against TRUTH when given; bks --no-archives and rg -z run interleaved
# too. Sets BKS_WALL and RG_WALL. BKS_FLAGS (an array) holds more flags
# for bks.
BKS_FLAGS=()
vs_rg() {
	local name=$1 label=$2 dir=$3 truth=${4:-} bytes files mb i n verdict bks_rss=0 rg_rss=0 rgz_rss=0 na_rss=0
	local out=$BENCH_DIR/bks-$name.jsonl rgout=$BENCH_DIR/rg-$name.txt rgzout=$BENCH_DIR/rgz-$name.txt naout=$BENCH_DIR/bks-noarchives-$name.jsonl
	bytes=$(bytes_of "$dir")
	files=$(find "$dir" -type f | wc -l)
	mb=$(div "$bytes" 1000000 %.0f)
	say "$label: $files files, $mb MB; warming the page cache"
	warm "$dir"
	BKS_WALL="" RG_WALL="" BKS_CPU="" RG_CPU="" RGZ_WALL="" RGZ_CPU="" NA_WALL="" NA_CPU=""
	for ((i = 1; i <= BENCH_RUNS; i++)); do
		measure "bks $name" 1 "$out" "$BKS" detect files "$dir" --format jsonl ${BKS_FLAGS[@]+"${BKS_FLAGS[@]}"}
		BKS_WALL=$(best "$BKS_WALL" "$WALL") BKS_CPU=$(best "$BKS_CPU" "$CPU") bks_rss=$(best_max "$bks_rss" "$RSS")
		measure "rg $name" 1 "$rgout" rg --no-config --hidden --no-ignore --count-matches "${RG_PATTERNS[@]}" "$dir"
		RG_WALL=$(best "$RG_WALL" "$WALL") RG_CPU=$(best "$RG_CPU" "$CPU") rg_rss=$(best_max "$rg_rss" "$RSS")
		# rg -z also searches compressed files (through the gzip and
		# bzip2 programs, whose CPU time counts too): the like-for-like
		# comparison with bks, which always opens them.
		measure "rg -z $name" 1 "$rgzout" rg -z --no-config --hidden --no-ignore --count-matches "${RG_PATTERNS[@]}" "$dir"
		RGZ_WALL=$(best "$RGZ_WALL" "$WALL") RGZ_CPU=$(best "$RGZ_CPU" "$CPU") rgz_rss=$(best_max "$rgz_rss" "$RSS")
		# bks without opening archives, which plain rg does not open
		# either: the like-for-like comparison with rg.
		measure "bks --no-archives $name" 1 "$naout" "$BKS" detect files "$dir" --format jsonl --no-archives ${BKS_FLAGS[@]+"${BKS_FLAGS[@]}"}
		NA_WALL=$(best "$NA_WALL" "$WALL") NA_CPU=$(best "$NA_CPU" "$CPU") na_rss=$(best_max "$na_rss" "$RSS")
	done
	n=$(grep -c . "$out" || true)
	if [ -n "$truth" ]; then
		if verdict=$("$GENCORPUS" verify -truth "$truth" -findings "$out"); then
			note "Ground truth ($label, $files files): $verdict"
		else
			note "Ground truth ($label, $files files): $verdict"
			GROUND_TRUTH_FAILED=1
		fi
	fi
	row "$label" "bks detect files --format jsonl" "$files" "$mb" "$BKS_WALL" "$(div "$mb" "$BKS_WALL" %.0f)" "$bks_rss" "$n" "1.00"
	n=$(awk -F: '{s += $NF} END {print s + 0}' "$rgout")
	row "$label" "rg --count-matches (2 patterns)" "$files" "$mb" "$RG_WALL" "$(div "$mb" "$RG_WALL" %.0f)" "$rg_rss" "$n matches" "$(div "$RG_WALL" "$BKS_WALL")"
	n=$(awk -F: '{s += $NF} END {print s + 0}' "$rgzout")
	row "$label" "rg -z --count-matches (2 patterns)" "$files" "$mb" "$RGZ_WALL" "$(div "$mb" "$RGZ_WALL" %.0f)" "$rgz_rss" "$n matches" "$(div "$RGZ_WALL" "$BKS_WALL")"
	n=$(grep -c . "$naout" || true)
	row "$label" "bks detect files --format jsonl --no-archives" "$files" "$mb" "$NA_WALL" "$(div "$mb" "$NA_WALL" %.0f)" "$na_rss" "$n" "$(div "$NA_WALL" "$BKS_WALL")"
	RATIOS+=("| $label | $files | $mb | $BKS_WALL | $RG_WALL | $(div "$BKS_WALL" "$RG_WALL") | $BKS_CPU | $RG_CPU | $(div "$BKS_CPU" "$RG_CPU") | $RGZ_WALL | $(div "$BKS_WALL" "$RGZ_WALL") | $RGZ_CPU | $(div "$BKS_CPU" "$RGZ_CPU") | $NA_WALL | $(div "$NA_WALL" "$RG_WALL") | $NA_CPU | $(div "$NA_CPU" "$RG_CPU") |")
}

best() { if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN {exit !(a < b)}'; then echo "$2"; else echo "$1"; fi; }
best_max() { if [ "$2" -gt "$1" ]; then echo "$2"; else echo "$1"; fi; }

TABLE=()
NOTES=()
RATIOS=()
row() { TABLE+=("|$(printf ' %s |' "$@")"); }
note() { NOTES+=("$*"); }

# --- stages ----------------------------------------------------------------------

require_detect_files() {
	"$BKS" detect files --help >/dev/null 2>&1 ||
		die "'bks detect files' is not available in this build of bks: the files stage needs it"
}

# gen_hash identifies the generator's code: a change regenerates the corpus.
gen_hash() { find internal/benchcorpus -name '*.go' ! -name '*_test.go' | sort | xargs cat | sha256sum | cut -c1-16; }

# Generates the corpus unless one from the same generator, size and seed is there.
ensure_corpus() {
	local stamp
	stamp="size=$BENCH_SIZE seed=$BENCH_SEED gen=$(gen_hash)"
	if [ -f "$BENCH_DIR/corpus.stamp" ] && [ "$(cat "$BENCH_DIR/corpus.stamp")" = "$stamp" ] && [ -d "$BENCH_DIR/corpus" ]; then
		return
	fi
	rm -rf "$BENCH_DIR/corpus" "$BENCH_DIR/corpus.stamp" "$BENCH_DIR/ground_truth.jsonl"
	"$GENCORPUS" generate -out "$BENCH_DIR/corpus" -truth "$BENCH_DIR/ground_truth.jsonl" \
		-size "$BENCH_SIZE" -seed "$BENCH_SEED" >&2
	echo "$stamp" >"$BENCH_DIR/corpus.stamp"
}

stage_files() {
	require_detect_files
	ensure_corpus
	local corpus=$BENCH_DIR/corpus files mb bks_wall n
	vs_rg files files "$corpus" "$BENCH_DIR/ground_truth.jsonl"
	bks_wall=$BKS_WALL
	files=$(find "$corpus" -type f | wc -l)
	mb=$(div "$(bytes_of "$corpus")" 1000000 %.0f)
	note "bks / rg wall time: $(div "$bks_wall" "$RG_WALL") (target ≤ 1.5)"

	if command -v gitleaks >/dev/null 2>&1; then
		measure "gitleaks" "$GITLEAKS_RUNS" "$BENCH_DIR/gitleaks.out" \
			gitleaks dir "$corpus" --config scripts/gitleaks-bedrock.toml --no-banner --log-level error \
			--exit-code 0 --report-format json --report-path "$BENCH_DIR/gitleaks.json"
		n=$(grep -c '"RuleID"' "$BENCH_DIR/gitleaks.json" || true)
		row "files" "gitleaks dir (Bedrock-only rules)" "$files" "$mb" "$WALL" "$(div "$mb" "$WALL" %.1f)" "$RSS" "$n" "$(div "$WALL" "$bks_wall" %.1f)"
		note "gitleaks / bks wall time: $(div "$WALL" "$bks_wall" %.1f)× (target ≥ 30×; gitleaks best of $GITLEAKS_RUNS)"
		note "gitleaks by place (path and line) on the ground truth: $("$GENCORPUS" verify -gitleaks -truth "$BENCH_DIR/ground_truth.jsonl" -findings "$BENCH_DIR/gitleaks.json")"
	else
		note "gitleaks: not on PATH, skipped (docs/BENCH.md says how to build one)"
	fi
}

# ensure_aws NAME EVERY: the AWS corpus with an id every EVERY lines.
ensure_aws() {
	local dir=$BENCH_DIR/$1 stamp
	stamp="size=$BENCH_AWS_SIZE seed=$BENCH_SEED every=$2 gen=$(gen_hash)"
	if [ -f "$dir.stamp" ] && [ "$(cat "$dir.stamp")" = "$stamp" ] && [ -d "$dir" ]; then
		return
	fi
	rm -rf "$dir" "$dir.stamp" "$dir-truth.jsonl"
	"$GENCORPUS" aws -out "$dir" -truth "$dir-truth.jsonl" -size "$BENCH_AWS_SIZE" -seed "$BENCH_SEED" -every "$2" >&2
	echo "$stamp" >"$dir.stamp"
}

stage_aws() {
	require_detect_files
	ensure_aws aws-realistic "$BENCH_AWS_EVERY"
	vs_rg aws-realistic "aws (id every $BENCH_AWS_EVERY lines)" "$BENCH_DIR/aws-realistic" "$BENCH_DIR/aws-realistic-truth.jsonl"
	ensure_aws aws-dense 40
	vs_rg aws-dense "aws dense (id every 40 lines)" "$BENCH_DIR/aws-dense" "$BENCH_DIR/aws-dense-truth.jsonl"
}

# copy_until SRC DIR SIZE: DIR holds copies of SRC (copy-1, copy-2…) until
# it holds SIZE bytes; kept while SRC's size and SIZE are the same.
copy_until() {
	local src=$1 dir=$2 want stamp i=0
	want=$(numfmt --from=auto "${3%B}")
	stamp="src=$src bytes=$(bytes_of "$src") size=$3"
	if [ -f "$dir.stamp" ] && [ "$(cat "$dir.stamp")" = "$stamp" ] && [ -d "$dir" ]; then
		return
	fi
	rm -rf "$dir" "$dir.stamp"
	mkdir -p "$dir"
	while [ "$(bytes_of "$dir")" -lt "$want" ]; do
		i=$((i + 1))
		cp -R "$src" "$dir/copy-$i"
	done
	echo "$stamp" >"$dir.stamp"
}

stage_gotree() {
	require_detect_files
	local goroot sdk
	goroot=$(go env GOROOT)
	copy_until "$goroot/src" "$BENCH_DIR/gotree" "$BENCH_GOTREE_SIZE"
	# Real trees hold corrupt test archives, which bks names and counts
	# (exit 2 without this flag); they are scanned as raw bytes.
	BKS_FLAGS=(--ignore-errors)
	vs_rg gotree "Go source tree (GOROOT/src)" "$BENCH_DIR/gotree"
	# The AWS SDK for Go, when the module cache has it (never downloaded).
	sdk=$(go env GOMODCACHE)/github.com/aws
	if [ -d "$sdk" ]; then
		copy_until "$sdk" "$BENCH_DIR/sdktree" "$BENCH_SDK_SIZE"
		vs_rg sdktree "AWS SDK for Go tree (module cache)" "$BENCH_DIR/sdktree"
	else
		note "AWS SDK tree: $sdk not in the module cache, skipped"
	fi
	BKS_FLAGS=()
}

stage_oneline() {
	require_detect_files
	local dir=$BENCH_DIR/oneline file stamp bytes mb n verdict
	file=$dir/huge.min.js
	stamp="size=$BENCH_ONELINE_SIZE seed=$BENCH_SEED gen=$(gen_hash)"
	if [ ! -f "$dir/stamp" ] || [ "$(cat "$dir/stamp")" != "$stamp" ] || [ ! -f "$file" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		"$GENCORPUS" oneline -out "$file" -truth "$BENCH_DIR/oneline_truth.jsonl" -size "$BENCH_ONELINE_SIZE" -seed "$BENCH_SEED" >&2
		echo "$stamp" >"$dir/stamp"
	fi
	bytes=$(stat -c %s "$file")
	mb=$(div "$bytes" 1000000 %.0f)
	warm "$file"
	measure "bks one-line" "$BENCH_RUNS" "$BENCH_DIR/oneline.jsonl" "$BKS" detect files "$file" --format jsonl
	n=$(grep -c . "$BENCH_DIR/oneline.jsonl" || true)
	if verdict=$("$GENCORPUS" verify -truth "$BENCH_DIR/oneline_truth.jsonl" -findings "$BENCH_DIR/oneline.jsonl"); then
		note "Ground truth (one-line file): $verdict"
	else
		note "Ground truth (one-line file): $verdict"
		GROUND_TRUTH_FAILED=1
	fi
	local bks_wall=$WALL
	row "one line" "bks detect files --format jsonl" 1 "$mb" "$WALL" "$(div "$mb" "$WALL" %.0f)" "$RSS" "$n" "1.00"
	note "bks peak RSS on one $mb MB line: $RSS MB (target < 200 MB)"
	measure "rg one-line" 1 "$BENCH_DIR/rg-oneline.txt" \
		rg --no-config --hidden --no-ignore --count-matches "${RG_PATTERNS[@]}" "$file"
	row "one line" "rg --count-matches (2 patterns)" 1 "$mb" "$WALL" "$(div "$mb" "$WALL" %.0f)" "$RSS" "$(cat "$BENCH_DIR/rg-oneline.txt") matches" "$(div "$WALL" "$bks_wall")"
}

stage_engine() {
	local out=$BENCH_DIR/engine-bench.txt
	go test -run '^$' -bench . -count 1 ./detectors/ >"$out" 2>&1 ||
		{ cat "$out" >&2; die "engine benchmarks failed"; }
	ENGINE_BENCH=$(grep -E '^Benchmark' "$out" || true)
}

# --- main ----------------------------------------------------------------------

mkdir -p "$BENCH_DIR"
ensure_tools
GROUND_TRUTH_FAILED=0
ENGINE_BENCH=""
IFS=, read -r -a stages <<<"$BENCH_STAGES"
for s in "${stages[@]}"; do
	declare -F "stage_$s" >/dev/null || die "unknown stage $s (have: files, aws, gotree, oneline, engine)"
	say "stage $s"
	"stage_$s"
done

{
	echo "## bks benchmark"
	echo
	echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), warm page cache, best of $BENCH_RUNS runs."
	echo "$("$BKS" --version 2>/dev/null | head -1); $(rg --version 2>/dev/null | head -1)$(command -v gitleaks >/dev/null 2>&1 && echo "; gitleaks $(gitleaks version 2>/dev/null)")."
	echo
	if [ ${#TABLE[@]} -gt 0 ]; then
		echo "| input | tool | files | MB | wall (s) | MB/s | peak RSS (MB) | findings | wall ÷ bks |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
		printf '%s\n' "${TABLE[@]}"
		echo
	fi
	if [ ${#RATIOS[@]} -gt 0 ]; then
		echo "bks ÷ rg per corpus (target: wall ≤ 1.5; interleaved runs, best of $BENCH_RUNS each; CPU is user + system time, which a loaded machine changes least):"
		echo
		echo "| corpus | files | MB | bks wall (s) | rg wall (s) | bks ÷ rg | bks CPU (s) | rg CPU (s) | CPU bks ÷ rg | rg -z wall (s) | bks ÷ rg -z | rg -z CPU (s) | CPU bks ÷ rg -z | bks --no-archives wall (s) | bks --no-archives ÷ rg | bks --no-archives CPU (s) | CPU bks --no-archives ÷ rg |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		printf '%s\n' "${RATIOS[@]}"
		echo
	fi
	for n in "${NOTES[@]}"; do echo "- $n"; done
	if [ -n "$ENGINE_BENCH" ]; then
		echo
		echo "Engine alone (go test -bench ./detectors/):"
		echo
		echo '```'
		echo "$ENGINE_BENCH"
		echo '```'
	fi
} | tee "$RESULTS"
say "results written to $RESULTS"
if [ "$GROUND_TRUTH_FAILED" != 0 ]; then
	die "bks's findings do not match the corpus's ground truth (see above)"
fi
