# Two entry points a newcomer needs: `make run` and `make test`. Both build .venv themselves.
PY ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench venv clean demo

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# bytecode as a regular install has it (editable installs skip it; PYTHONDONTWRITEBYTECODE
	# would otherwise make every `swhub convert` recompile the modules it imports)
	$(BIN)/python -m compileall -q hub messages adapters risk refunds simulators >/dev/null
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/swhub serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/swhub demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var/*.db
