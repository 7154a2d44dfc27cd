#!/usr/bin/env bash
# Installs what the test suite needs when it is missing. Idempotent and quiet
# when everything is there. Uses Debian packages (apt-get), as root or sudo.
set -euo pipefail
need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v pre-commit >/dev/null 2>&1 || need+=(pre-commit) # pre-commit framework test (internal/e2e/git)
command -v jq >/dev/null 2>&1 || need+=(jq) # scripts/action/run.sh tests (GitHub runners ship jq)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "installing test tools: ${need[*]}" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
