# bks — see README.md. `make test` is what CI runs (.ci/run).
GO      ?= go
BIN     ?= bin/bks
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/bks-dev/bks/internal/cli.Version=$(VERSION)

.PHONY: build image test test-aws demo serve-demo bench bench-git bench-image bench-serve bench-sweep fuzz lint tools

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bks

# An OCI image of bks, built without a Docker daemon (internal/imagebuild):
# the static Linux binary built as `build` does, on an empty base, non-root,
# entrypoint bks, OCI version labels, this machine's CA bundle. Written to
# $(IMAGE_DIR)/oci (OCI layout) and $(IMAGE_DIR)/bks.tar (docker load);
# pushed when IMAGE_REPO names a REGISTRY/REPO[:TAG] (default tag: VERSION).
# IMAGE_BASE=REF builds on that image instead (e.g. one with git, which
# `bks detect github` needs); see docs/deploy.md.
# Every timestamp is the commit time, so the same commit gives the same digest.
IMAGE_DIR    ?= bin/image
IMAGE_REPO   ?=
IMAGE_BASE   ?=
IMAGE_SOURCE ?= https://github.com/bks-dev/bks
image:
	GOOS=linux $(MAKE) --no-print-directory build BIN=$(IMAGE_DIR)/linux/bks VERSION='$(VERSION)'
	$(GO) run ./internal/imagebuild/cmd -binary $(IMAGE_DIR)/linux/bks -out $(IMAGE_DIR) \
	  -version '$(VERSION)' -source '$(IMAGE_SOURCE)' \
	  -revision "$$(git rev-parse HEAD 2>/dev/null)" \
	  -created "$$(git log -1 --format=%ct 2>/dev/null || echo $${SOURCE_DATE_EPOCH:-0})" \
	  $(if $(IMAGE_BASE),-base '$(IMAGE_BASE)') $(if $(IMAGE_REPO),-push '$(IMAGE_REPO)')

# The test command of README and CI: lint (vet, gofmt, staticcheck), race
# tests (fuzz seed corpora included), and a build of the binary. The
# timeout is per test binary: go test's default 10 minutes was hit by
# internal/cli and sources/github on a machine at load 30; the whole run
# takes about 7 minutes on an idle 2-core machine.
test: lint
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) build

# The live-account check (docs/live-aws.md): against a real sandbox account,
# only with BKS_AWS_LIVE=1 and BKS_AWS_LIVE_ACCOUNT=<its id> (checked
# against STS). It creates and deletes a throwaway IAM user and Bedrock
# API key. `make test` runs the same check against the emulator.
test-aws:
	BKS_AWS_LIVE=$${BKS_AWS_LIVE:-0} $(GO) test -count=1 -timeout 90m -v -run 'TestLiveAccount/aws' ./internal/cli

# Tools the tests need, installed when missing: Debian packages, and
# staticcheck (pinned) into .tools/bin.
tools:
	@GO='$(GO)' ./scripts/install-test-tools.sh

# The main job on its embedded default: built-in sample data, no AWS needed.
demo: build
	$(BIN) demo

# The service on loopback against the AWS emulator and the GitHub fake: a
# key pushed through a signed webhook is revoked; then the dashboard, until
# Ctrl-C. LISTEN=127.0.0.1:0 picks a free port.
LISTEN ?= 127.0.0.1:8080
serve-demo: build
	$(BIN) serve --demo --listen $(LISTEN)

STATICCHECK := .tools/bin/staticcheck

lint: tools
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(STATICCHECK) ./...

FUZZTIME ?= 30s
fuzz:
	@$(GO) list ./... | while read -r pkg; do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Speed and memory against ripgrep and gitleaks on a generated >= 1 GB corpus
# with planted keys and decoys (checked against its ground truth); writes
# .bench/results.md. See docs/BENCH.md.
bench:
	@./scripts/bench.sh
	@./scripts/bench-git.sh
	@./scripts/bench-image.sh
	@./scripts/bench-sweep.sh

# git history: bks detect git vs gitleaks git on a generated history with
# planted keys (checked against its ground truth) and, when BKS_BENCH_REPO
# names one, a real repository with >= 20,000 commits cloned beforehand;
# writes .bench/results-git.md. See docs/BENCH-git.md.
bench-git:
	@./scripts/bench-git.sh

# Container image scan (issue 17 §4): bks detect image on a generated 1 GiB
# OCI layout against bks detect files on the same files unpacked; writes
# .bench/results-image.md. See docs/BENCH.md.
bench-image:
	@./scripts/bench-image.sh

# bks serve against the GitHub fake and the AWS emulator, on SQLite and
# PostgreSQL: push-to-revocation latency, a burst of 1,000 deliveries, peak
# RSS, database size, pool sizes. Writes .bench/results-serve.md. See
# docs/BENCH.md.
bench-serve:
	@./scripts/bench-serve.sh

# Sweeps of an organization of 200 generated repositories on the GitHub,
# GitLab (with snippets) and Hugging Face fakes, git over smart HTTP, every
# planted key checked against the ground truth with its link; and the
# issues and comments of 200 repositories on the GitHub fake. Writes
# .bench/results-sweep.md. See docs/BENCH.md.
bench-sweep:
	@./scripts/bench-sweep.sh
