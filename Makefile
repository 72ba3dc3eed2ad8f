# Every target installs what it needs into .venv first, so a fresh clone needs only python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# checkov and the SAM CLI pin their own boto3, so each gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
SAM_VENV     := .venv-sam
SAM          := $(SAM_VENV)/bin/sam
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test lint format bundle-size bench bench-memory bench-speed bench-full-sweep bench-scale bench-verify bench-sweep-map bench-release bench-imports bench-full-sweep-scale requirements validate build deploy clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==3.3.30'

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli==1.170.0'

## demo: the whole system on an embedded moto S3, no AWS account needed
demo: $(STAMP)
	$(BIN)/sibling-sentinel demo

## test: lint, types, then every test with branch coverage (fails under 90%), template checks included
test: lint $(CHECKOV) $(SAM)
	CHECKOV=$(CHECKOV) SAM=$(SAM) $(BIN)/pytest --cov --cov-branch --cov-report=term -p no:cacheprovider

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
## sweep, s5cmd and rclone (when installed), this release beside the previous one (issue 18's figures),
## handler imports, FullSweep per invocation; rewrites the tables in docs/BENCHMARKS.md and docs/SCALE.md
bench: bench-memory bench-speed bench-release bench-imports bench-full-sweep bench-full-sweep-scale bench-scale bench-verify

bench-memory: $(STAMP)
	$(BIN)/python bench/reconcile_memory.py --keys 1000000

## bench-verify: verify throughput per compression (MB/s) and memory while streaming 0.25-2 GiB
## tarballs through each compressor's own tool (installed with apt-get when missing); rewrites its
## block of docs/BENCHMARKS.md
COMPRESSOR_TOOLS := gzip bzip2 xz zstd lz4
bench-verify: $(STAMP)
	@for tool in $(COMPRESSOR_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq gzip bzip2 xz-utils zstd lz4; fi
	$(BIN)/python bench/verify_speed.py --write-doc

## requirements: regenerate functions/requirements.txt (the Lambda bundle) from pyproject.toml
requirements: $(STAMP)
	$(BIN)/python infra/lambda_requirements.py

## validate: sam validate --lint (no AWS credentials needed)
validate: $(SAM)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(SAM) validate --lint

## build: sam build (needs python3.12 on PATH, or SAM_BUILD_FLAGS=--use-container with Docker), then the
## CLI's cli/ taken out of every function's bundle (SAM's Python builder has no exclude list)
build: $(SAM) $(STAMP)
	$(BIN)/python infra/lambda_requirements.py --check
	$(SAM) build $(SAM_BUILD_FLAGS)
	$(BIN)/python infra/lambda_bundle.py --prune .aws-sam/build

## bundle-size: the Lambda bundle's size with and without cli/ (made as SAM's builder makes it)
bundle-size: $(STAMP)
	$(BIN)/python infra/lambda_bundle.py --measure

## deploy: sam deploy with infra/samconfig.toml (first time: make deploy SAM_DEPLOY_FLAGS=--guided)
deploy: build
	$(SAM) deploy --config-file $(CURDIR)/infra/samconfig.toml $(SAM_DEPLOY_FLAGS)

bench-speed: $(BENCH_STAMP)
	$(BIN)/python bench/list_speed.py --write-doc --scenarios 200000:20,100000:20,1000000:20,1000000:0

## bench-release: issue 18's figures in one run: this release beside the previous one (built from git,
## bench/baseline.py) at 1M keys and 0 ms (CPU per key, memory, GC tuned or not), and beside the naive
## boto3 sweep and s5cmd ls at 200k keys and 20 ms (5 rounds); rewrites its block of docs/BENCHMARKS.md
bench-release: $(BENCH_STAMP)
	$(BIN)/python bench/release_ab.py --write-doc

## bench-imports: each Lambda handler's import time (python -X importtime), this release beside the previous
bench-imports: $(STAMP)
	$(BIN)/python bench/import_time.py --write-doc

## bench-sweep-map: the SweepMap state machine on moto's ASL interpreter beside the FullSweep function
bench-sweep-map: $(STAMP)
	$(BIN)/python bench/sweep_map_speed.py --write-doc

## bench-full-sweep: the FullSweep handler (dry run, range shards on threads) beside the CLI's --processes 1
bench-full-sweep: $(STAMP)
	$(BIN)/python bench/full_sweep_speed.py --write-doc

## bench-full-sweep-scale: the FullSweep handler at 1M keys and 50 ms a page, this release beside the
## previous one: objects per 15-minute invocation, and SCALE.md's model checked; rewrites its block of docs/SCALE.md
bench-full-sweep-scale: $(STAMP)
	$(BIN)/python bench/full_sweep_scale.py --write-doc

## bench-scale: fit the scale model to the speed tables, check it, and rewrite docs/SCALE.md
bench-scale: $(STAMP)
	$(BIN)/python bench/scale_model.py --write-doc

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov
