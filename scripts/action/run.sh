#!/usr/bin/env bash
# The logic of the bks GitHub Action (action.yml), kept in a script so that it
# is tested locally (internal/e2e/git) against synthetic event payloads.
#
# It scans exactly what the event brings:
#   pull_request(_target)  pull_request.base.sha..pull_request.head.sha, every
#                          commit of the PR (no API listing, no 30-commit cap)
#   push                   before..after; before = 000… (a new branch): the
#                          commits not on the default branch; before == after
#                          or a deleted branch: nothing, and passes
#   anything else          the whole history (every ref)
# Shallow checkouts are deepened with git fetch first.
#
# Environment (inputs):
#   BKS                    the bks binary (default: bks on PATH)
#   INPUT_PATH             the repository (default .)
#   INPUT_SARIF            "true": write SARIF for upload
#   INPUT_SARIF_FILE       where (default bks.sarif)
#   INPUT_FAIL_ON_FINDINGS "false": exit 0 even when keys are found
#   INPUT_ARGS             more arguments for bks detect git (word-split)
#   INPUT_TRUST_HEAD_CONFIG "true": use the head's .bks.toml and baseline even
#                          when the change widens them (--trust-head-config)
#
# The configuration and baseline are the base commit's (bks detect git
# --range reads them there): a pull request that widens them (an allow-all
# allowlist, a new baseline entry) gets an error annotation naming the
# change and fails the job, as a finding does, until trust-head-config.
#   GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY
# Exit: 0 clean (or findings allowed), 1 keys found, 2 failure.
# It never prints a key: bks redacts every finding and --show-secrets is
# refused here.
set -euo pipefail

BKS=${BKS:-bks}
REPO=${INPUT_PATH:-.}
SARIF=${INPUT_SARIF:-false}
SARIF_FILE=${INPUT_SARIF_FILE:-bks.sarif}
FAIL=${INPUT_FAIL_ON_FINDINGS:-true}
TRUST_HEAD=${INPUT_TRUST_HEAD_CONFIG:-false}
EVENT=${GITHUB_EVENT_NAME:-}
EVENT_PATH=${GITHUB_EVENT_PATH:-}
ZERO=0000000000000000000000000000000000000000

log() { printf 'bks-action: %s\n' "$*" >&2; }
die() { printf '::error title=bks action::%s\n' "$*"; exit 2; }
output() { if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi; }

command -v jq >/dev/null 2>&1 || die "jq is required (GitHub-hosted runners have it)"
read -r -a extra <<<"${INPUT_ARGS:-}"
for a in "${extra[@]}"; do
  case $a in --show-secrets*) die "--show-secrets is not allowed in the action: logs are public" ;; esac
done

ev() { # a field of the event payload, empty when absent
  if [ -n "$EVENT_PATH" ] && [ -f "$EVENT_PATH" ]; then jq -r "$1 // empty" "$EVENT_PATH"; fi
}

git_() { git -C "$REPO" "$@"; }
has_commit() { git_ cat-file -e "$1^{commit}" 2>/dev/null; }

# ensure_history makes base and head and their history present.
ensure_history() {
  local want=()
  for c in "$@"; do has_commit "$c" || want+=("$c"); done
  if [ "$(git_ rev-parse --is-shallow-repository)" = true ]; then
    log "shallow checkout: fetching the history the range needs"
    git_ fetch --quiet --no-tags --unshallow origin || git_ fetch --quiet --no-tags --deepen=2147483647 origin || true
  fi
  if [ ${#want[@]} -gt 0 ]; then
    git_ fetch --quiet --no-tags origin "${want[@]}" || true
  fi
  for c in "$@"; do has_commit "$c" || die "commit $c is not in the checkout and could not be fetched"; done
}

range=""
nothing=""
case $EVENT in
pull_request | pull_request_target)
  base=$(ev .pull_request.base.sha)
  head=$(ev .pull_request.head.sha)
  [ -n "$base" ] && [ -n "$head" ] || die "pull_request event without base.sha/head.sha"
  if [ "$base" = "$head" ]; then nothing="base and head are the same commit"; else
    ensure_history "$base" "$head"
    range="$base..$head"
  fi
  ;;
push)
  before=$(ev .before)
  after=$(ev .after)
  [ -n "$after" ] || die "push event without after"
  if [ "$after" = "$ZERO" ]; then
    nothing="the branch was deleted"
  elif [ "$before" = "$after" ]; then
    nothing="before and after are the same commit"
  elif [ -z "$before" ] || [ "$before" = "$ZERO" ]; then
    # A new branch: what it has that the default branch has not.
    default=$(ev .repository.default_branch)
    ensure_history "$after"
    base=""
    if [ -n "$default" ] && [ "$(ev .ref)" != "refs/heads/$default" ]; then
      git_ fetch --quiet --no-tags origin "+refs/heads/$default:refs/remotes/origin/$default" 2>/dev/null || true
      base=$(git_ merge-base "refs/remotes/origin/$default" "$after" 2>/dev/null || true)
    fi
    if [ -n "$base" ]; then range="$base..$after"; else
      log "new branch with no common history with the default branch: scanning all of it"
      range="..$after"
    fi
  else
    # A push or a force-push: the commits after has and before had not.
    ensure_history "$after"
    git_ fetch --quiet --no-tags origin "$before" 2>/dev/null || true
    if has_commit "$before"; then range="$before..$after"; else
      default=$(ev .repository.default_branch)
      default=${default:-main}
      git_ fetch --quiet --no-tags origin "+refs/heads/$default:refs/remotes/origin/$default" 2>/dev/null || true
      base=""
      if [ "$(ev .ref)" != "refs/heads/$default" ]; then
        base=$(git_ merge-base "refs/remotes/origin/$default" "$after" 2>/dev/null || true)
      fi
      log "before ($before) is not available (force-push): scanning from the merge base with $default"
      range="${base}..$after"
    fi
  fi
  ;;
*)
  if [ "$(git_ rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
    git_ fetch --quiet --no-tags --unshallow origin || log "could not unshallow: scanning what is there"
  fi
  ;;
esac

sarif_out=$SARIF_FILE
if [ "$SARIF" != true ]; then
  sarif_out=$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/bks-XXXXXX.sarif")
fi

args=(detect git "$REPO" --format sarif --output "$sarif_out")
if [ -n "$nothing" ]; then
  log "nothing to scan: $nothing"
  head=$(git_ rev-parse HEAD 2>/dev/null || true)
  if [ -z "$head" ]; then
    printf '{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"bks"}},"results":[]}]}\n' >"$sarif_out"
    output findings 0
    [ "$SARIF" = true ] && output sarif-file "$sarif_out"
    exit 0
  fi
  range="$head..$head" # an empty range: an empty report
fi
case $range in
..*) args+=(--branch "${range#..}") ;; # all that the commit reaches: bks refuses an empty BASE
?*) args+=(--range "$range") ;;
esac
[ "$TRUST_HEAD" = true ] && args+=(--trust-head-config)
log "bks ${args[*]} ${extra[*]}"
set +e
"$BKS" "${args[@]}" "${extra[@]}"
code=$?
set -e
if [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; then
  die "bks failed (exit $code): the scan is incomplete"
fi
[ -s "$sarif_out" ] || die "bks wrote no report"

# One annotation per finding. Workflow-command escaping: % CR LF in the
# message; also : and , in properties.
jq -r '
  def esc: tostring | gsub("%"; "%25") | gsub("\r"; "%0D") | gsub("\n"; "%0A");
  def prop: esc | gsub(":"; "%3A") | gsub(","; "%2C");
  .runs[].results[]? | select((.suppressions // []) | length == 0) |
  (.locations[0].physicalLocation // {}) as $p |
  (if ($p.artifactLocation.uri // "") != "" then
     "file=" + ($p.artifactLocation.uri | prop) + ",line=" + (($p.region.startLine // 1) | tostring) + ","
   else "" end) as $where |
  "::error " + $where + "title=" + ("bks: " + .ruleId | prop) + "::" + (.message.text | esc)
' "$sarif_out"
# A key this change allows inline (bks:allow on its line) is not a finding,
# as for bks, but the review sees it: a warning annotation each.
jq -r '
  def esc: tostring | gsub("%"; "%25") | gsub("\r"; "%0D") | gsub("\n"; "%0A");
  def prop: esc | gsub(":"; "%3A") | gsub(","; "%2C");
  .runs[].results[]? | select(any(.suppressions[]?; .justification == "inline")) |
  (.locations[0].physicalLocation // {}) as $p |
  (if ($p.artifactLocation.uri // "") != "" then
     "file=" + ($p.artifactLocation.uri | prop) + ",line=" + (($p.region.startLine // 1) | tostring) + ","
   else "" end) as $where |
  "::warning " + $where + "title=" + ("bks: allowed inline: " + .ruleId | prop) + "::" + ("bks:allow on this line hides: " + .message.text | esc)
' "$sarif_out"
# A change to the configuration that widens what is suppressed: one error
# annotation each, and the job fails as for a finding.
jq -r '
  def esc: tostring | gsub("%"; "%25") | gsub("\r"; "%0D") | gsub("\n"; "%0A");
  .runs[].invocations[]?.toolConfigurationNotifications[]? | select(.level == "error") |
  "::error title=bks%3A configuration change::" + (.message.text | esc)
' "$sarif_out"
widened=$(jq '[.runs[].invocations[]?.toolConfigurationNotifications[]? | select(.level == "error")] | length' "$sarif_out")
# Suppressed results (allowlist, baseline, bks:allow) stay in the SARIF,
# marked, for code scanning; they are not findings of this job.
n=$(jq '[.runs[].results[]? | select((.suppressions // []) | length == 0)] | length' "$sarif_out")
output findings "$n"
[ "$SARIF" = true ] && output sarif-file "$sarif_out"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ "$n" -gt 0 ]; then
    printf '### bks: %s Bedrock API key finding(s)\nRange: `%s`. Treat each key as compromised: revoke it, then remove it from history.\n' "$n" "${range:-all refs}" >>"$GITHUB_STEP_SUMMARY"
  else
    printf '### bks: no Bedrock API keys\nRange: `%s`.\n' "${range:-all refs}" >>"$GITHUB_STEP_SUMMARY"
  fi
fi
if [ "$widened" -gt 0 ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  printf '### bks: this change widens the configuration (%s change(s))\nThe base commit'"'"'s `.bks.toml` and baseline were used. A reviewer accepts the change with `trust-head-config: "true"`.\n' "$widened" >>"$GITHUB_STEP_SUMMARY"
fi
if [ "$n" -gt 0 ] || [ "$widened" -gt 0 ]; then
  log "$n finding(s), $widened configuration change(s) that widen what is suppressed"
  [ "$FAIL" = false ] && exit 0
  exit 1
fi
exit 0
