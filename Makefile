# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := $(CURDIR)/.tools/bin
HELM_VERSION := v4.3.2
HELM := $(TOOLS)/helm

.PHONY: help venv tools run test test-fast bench chaos lint fmt typecheck pytest stack-up stack-down stack-status clean

help:
	@echo "make run         the stack, the services, the officers' workspace, Prometheus and a demo; Ctrl-C stops it"
	@echo "make test        ruff, mypy --strict and the whole pytest suite against the real stack"
	@echo "make test-fast   ruff, mypy --strict and the rule tests (marker 'fast'), nothing started"
	@echo "make lint        ruff: lint and formatting check"
	@echo "make typecheck   mypy --strict"
	@echo "make bench       throughput and latency of the pipeline (BENCH_SIZE=500000 for a year-end day)"
	@echo "make chaos       the pipeline under kills and restarts, every promise counted (CHAOS_SEED=…)"
	@echo "make stack-up | stack-down | stack-status   the stack in the background"
	@echo "make fmt         format the code"
	@echo "make clean       stop the background stack and delete var/ (its data, logs and mail)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: venv
	$(BIN)/python -m stack run

test: venv tools lint typecheck pytest

# The rules alone, while changing one: no broker, database or mail server is started.
test-fast: venv lint typecheck
	$(BIN)/pytest -m fast -q

# Debian's Prometheus (prometheus, promtool) for the rule and dashboard tests and `make run`;
# Debian's Chromium and its driver for the workspace's browser tests (Playwright drives
# /usr/bin/chromium: it downloads no browser of its own); Helm, built from its Go module into
# .tools/bin, for the chart's tests (tests/deploy/).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
tools:
	@go version -m $(HELM) 2>/dev/null | grep -q "^[[:space:]]mod[[:space:]]helm.sh/helm/v4[[:space:]]$(HELM_VERSION)[[:space:]]" || { \
	  echo "Building Helm $(HELM_VERSION) into $(TOOLS)/ (go install; minutes the first time)…"; \
	  GOBIN=$(TOOLS) go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION); }
	@command -v promtool >/dev/null || { \
	  echo "Installing Debian's prometheus package (promtool)…"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq prometheus >/dev/null; }
	@{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } || { \
	  echo "Installing Debian's chromium and chromium-driver…"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy .

pytest: venv
	$(BIN)/pytest --durations=15

# A quick run (BENCH_SIZE=20000); BENCH_SIZE=500000 make bench for a whole year-end day.
bench: venv
	$(BIN)/python -m bench
	$(BIN)/python -m bench.workspace

# The whole pipeline under faults, its promises counted (CHAOS_VOUCHERS, CHAOS_RATE, CHAOS_SEED).
chaos: venv
	$(BIN)/python -m chaos

stack-up: venv
	$(BIN)/python -m stack up --detach

stack-down: venv
	$(BIN)/python -m stack down

stack-status: venv
	$(BIN)/python -m stack status

clean: stack-down
	rm -rf var
