# authgate: `make run` serves on http://127.0.0.1:4999, `make test` runs the suite.
# Both create .venv on a fresh clone by themselves.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Until the ready-to-run server lands, `make run` serves the seed-style example app.
run: $(STAMP)
	HOST=127.0.0.1 PORT=4999 $(BIN)/python -m examples.oauth2_server

test: $(STAMP)
	$(BIN)/ruff check src tests examples
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests examples
	$(BIN)/lint-imports
	$(BIN)/mypy src/authgate/core

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
