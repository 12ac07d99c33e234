# Archipelago — `make help` lists the targets. Two commands do all set-up: `make demo`, `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# uv from PATH, else a private copy installed into .tools/ with nothing but python3.
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
PYTEST_ARGS ?= -n 2
SCALE ?= S
PORT ?= 8765
export UV_COMPILE_BYTECODE := 1
export RUNTIME__DLTHUB_TELEMETRY ?= false
export DBT_SEND_ANONYMOUS_USAGE_STATS ?= false

.PHONY: help install demo test lint format bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36mmake %-8s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet uv

$(BIN)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

install: $(BIN)/.installed ## Create .venv and install the locked dependencies (uv)

demo: install ## The main job on a simulated retailer (simulate, serve APIs, ingest, build); Ctrl-C stops
	$(BIN)/cdp demo --scale $(SCALE) --port $(PORT)

test: install ## Run the whole test suite (what CI runs)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Run the benchmarks (BENCH_ARGS="--scale M" for a bigger world)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean: ## Remove generated data (keeps .venv)
	find data -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
