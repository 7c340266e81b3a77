# Two commands for a newcomer: `make run` and `make test`. Each creates .venv
# and installs what it needs on a fresh machine (re-installing when
# pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-load lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip 1>&2
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]' 1>&2
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/linkbrief run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The same suite with both cores kept busy by stress-ng (installed where missing):
# what CI runs, so a test that needs an idle machine fails here first.
test-load: $(STAMP)
	scripts/under_load.sh $(MAKE) --no-print-directory test

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

# Each benchmark prints a table; see README "Performance". A few minutes in all.
bench: $(STAMP)
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/tokens.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/own_work.py
	$(BIN)/python bench/concurrency.py
	$(BIN)/python bench/slack_load.py --rate 50 --seconds 10
	$(BIN)/python bench/digest.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
