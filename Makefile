# Two commands for a newcomer: `make run` and `make test`. Each creates .venv
# and installs what it needs on a fresh machine (re-installing when
# pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

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

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/extract.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
