# Every target installs what it needs into .venv first, so a fresh clone needs only python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench bench-memory bench-speed clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: the whole system on an embedded moto S3, no AWS account needed
demo: $(STAMP)
	$(BIN)/sibling-sentinel demo

## test: lint, types, then every test with branch coverage (fails under 90%)
test: lint
	$(BIN)/pytest --cov --cov-branch --cov-report=term -p no:cacheprovider

## lint: ruff (lint + format check) and mypy --strict on functions/
lint: $(STAMP)
	$(BIN)/ruff check functions tests bench
	$(BIN)/ruff format --check functions tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format functions tests bench
	$(BIN)/ruff check --fix functions tests bench

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## bench: reconciliation memory, then sweep speed on a loopback S3 endpoint against a naive boto3
## sweep, s5cmd and rclone (when installed); rewrites the tables in docs/BENCHMARKS.md
bench: bench-memory bench-speed

bench-memory: $(STAMP)
	$(BIN)/python bench/reconcile_memory.py --keys 1000000

bench-speed: $(BENCH_STAMP)
	$(BIN)/python bench/list_speed.py --write-doc --scenarios 200000:20,100000:20,1000000:20,1000000:0

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov
