# つながり — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "つながり needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## make run: the bot, the LINE emulator and the simulator page on http://127.0.0.1:8000/
run: $(STAMP)
	$(BIN)/python app.py

## make test: the whole suite (needs Redis and PostgreSQL; .ci/run starts them)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/webhook_throughput.py
	$(BIN)/python bench/sweep_scale.py
	$(BIN)/python bench/notice_fanout.py
	$(BIN)/python bench/console_stats.py

clean:
	rm -rf $(VENV) instance .pytest_cache
