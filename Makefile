# gongshu's one task runner. The same verbs everywhere: setup, demo, test, lint, bench, docs.
# Everything installs into the repository: .venv/ (the project) and .uv/ (the uv tool itself).

SHELL := /bin/bash
PYTHON ?= python3
UV_HOME := .uv
UV := $(shell command -v uv 2>/dev/null || echo $(UV_HOME)/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup demo serve test test-fast lint format typecheck bench docs browser-deps clean

## setup: install gongshu and its tools into .venv/ (from uv.lock, exactly)
setup: $(BIN)/gongshu

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(UV_HOME) uv

$(BIN)/gongshu: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

## demo: the demo city end to end, then the pages on http://127.0.0.1:8000/
demo: setup browser-deps
	$(BIN)/gongshu demo

## browser-deps: Debian's chromium and a Chinese font for the browser tests (needs root or sudo)
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "wenquanyi zen hei"; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else \
	  echo "browser-deps: not root and no sudo; browser tests will skip"; exit 0; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null && \
	echo "browser-deps: installed chromium and fonts-wqy-zenhei"

## test: lint, type-check and the whole test suite (services on 127.0.0.1 where present)
test: setup browser-deps lint typecheck
	$(BIN)/pytest -q

## test-fast: the suite without browser and slow tests
test-fast: setup
	$(BIN)/pytest -q -m "not browser and not slow"

lint: setup
	$(BIN)/ruff check gongshu tests
	$(BIN)/ruff format --check gongshu tests

format: setup
	$(BIN)/ruff format gongshu tests
	$(BIN)/ruff check --fix gongshu tests

typecheck: setup
	$(BIN)/mypy

## bench: the benchmarks recorded in docs/benchmarks.md
bench: setup
	$(BIN)/gongshu bench city --persons 100000
	$(BIN)/gongshu bench audit --rows 1000000
	$(BIN)/gongshu bench portal --datasets 50000 --rows 10000000

## docs: regenerate the CLI reference and the OpenAPI document under docs/
docs: setup
	$(BIN)/python -m gongshu.docs

serve: setup
	$(BIN)/gongshu serve

clean:
	rm -rf $(VENV) $(UV_HOME) .mypy_cache .ruff_cache .pytest_cache test-artifacts
