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

# The ready-to-run server; the first start creates the SQLite database, the secret key
# and the first signing key in the instance folder (AUTHGATE_INSTANCE_PATH to move it).
run: $(STAMP)
	$(BIN)/authgate serve --host 127.0.0.1 --port 4999

test: $(STAMP)
	$(BIN)/ruff check src tests examples bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests examples bench
	$(BIN)/lint-imports
	$(BIN)/mypy src/authgate

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
