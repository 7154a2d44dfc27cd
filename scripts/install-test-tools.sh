#!/usr/bin/env bash
# Installs what the test suite needs when it is missing. Idempotent and quiet
# when everything is there.
#   - git, pre-commit, jq, bzip2, docker-registry, postgresql, chromium: Debian packages (apt-get), as root or sudo.
#   - staticcheck: `go install` at the pinned version below, into the
#     project-local .tools/bin (git-ignored). `make lint` runs it from there.
set -euo pipefail
cd "$(dirname "$0")/.."

# staticcheck 2026.2.2; the newest release that builds with this module's Go.
# Change both together: the binary is reinstalled when its version or the Go
# it was built with differs.
STATICCHECK_VERSION=v0.8.2
TOOLS_BIN="$PWD/.tools/bin"
GO=${GO:-go}

install_apt() {
	local need=()
	command -v git >/dev/null 2>&1 || need+=(git)
	command -v pre-commit >/dev/null 2>&1 || need+=(pre-commit) # pre-commit framework test (internal/e2e/git)
	command -v jq >/dev/null 2>&1 || need+=(jq)                 # scripts/action/run.sh tests (GitHub runners ship jq)
	command -v bzip2 >/dev/null 2>&1 || need+=(bzip2)           # .bz2 test data (Go reads bzip2 but cannot write it)
	command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry) # sources/image tests: a real registry on loopback
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql) # serve tests: a throwaway cluster (internal/testpg)
	command -v chromium >/dev/null 2>&1 || need+=(chromium) # serve dashboard test: headless Chromium (internal/testchromium)
	if [ ${#need[@]} -eq 0 ]; then return 0; fi
	local sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	echo "installing test tools: ${need[*]}" >&2
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}

# staticcheck_current succeeds when .tools/bin/staticcheck is the pinned
# version, built by the Go toolchain in use (a binary built by an older Go
# cannot load packages written for a newer one).
staticcheck_current() {
	local bin="$TOOLS_BIN/staticcheck" info
	[ -x "$bin" ] || return 1
	info=$("$GO" version -m "$bin" 2>/dev/null) || return 1
	grep -q "^$bin: $("$GO" env GOVERSION)\$" <<<"$info" || return 1
	grep -qE "^[[:space:]]+mod[[:space:]]+honnef.co/go/tools[[:space:]]+$STATICCHECK_VERSION[[:space:]]" <<<"$info"
}

install_staticcheck() {
	staticcheck_current && return 0
	echo "installing staticcheck $STATICCHECK_VERSION into .tools/bin" >&2
	mkdir -p "$TOOLS_BIN"
	rm -f "$TOOLS_BIN/staticcheck" # go install will not replace a file it did not build
	if ! GOBIN="$TOOLS_BIN" "$GO" install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"; then
		echo "install-test-tools: could not install staticcheck $STATICCHECK_VERSION (go install failed, see above; it needs the Go module proxy); make lint and make test need it" >&2
		return 1
	fi
	staticcheck_current || {
		echo "install-test-tools: .tools/bin/staticcheck is not $STATICCHECK_VERSION built by $("$GO" env GOVERSION) after installing it" >&2
		return 1
	}
}

install_apt
install_staticcheck
