GO ?= go

.PHONY: test test-distributed bench fuzz build

# Every test, with the services it needs (Redis at 127.0.0.1:6379; NATS is
# embedded by the tests themselves, and one test runs Debian's nats-server),
# the tools (promtool), and Chromium for the console's browser test, whose
# screenshot goes to bin/console.png.
test:
	./scripts/ensure-redis
	./scripts/ensure-nats-server
	./scripts/ensure-promtool
	./scripts/ensure-chromium
	$(GO) vet ./...
	TASKROUTER_CONSOLE_SCREENSHOT=$(CURDIR)/bin/console.png $(GO) test -race -count=1 -timeout 15m ./...

# Only the multi-process tests (also part of `make test`): routers and
# executor processes over real NATS and Redis, with SIGKILL, SIGTERM, a
# Redis restart and a shared 429 cooldown (under a minute). `go test -short`
# skips them.
test-distributed:
	./scripts/ensure-redis
	./scripts/ensure-nats-server
	$(GO) test -race -count=1 -timeout 10m -run Distributed -v ./cmd/taskrouter

# Go benchmarks, then the end-to-end figures.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./task/... ./registry/... ./router/... ./planner/... ./localmodel/... ./artifacts/...
	$(GO) run ./cmd/taskrouter bench

# A short fuzzing pass over every parser of outside input.
fuzz:
	./scripts/fuzz-all 20s

build:
	$(GO) build -o bin/taskrouter ./cmd/taskrouter
