# つながり — the main commands: `make run`, `make class` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run class test lint format bench clean messages catalogues

# pytest processes for `make test` (each with its own databases: tests/conftest.py); one by
# default: the end-to-end tests wait on real processes and time out when two share two cores;
# a file's tests stay in one process.  TEST_PROCESSES=0 runs them in this one.
TEST_PROCESSES ?= 1

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "つながり needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The translations: messages/locale/<lang>/LC_MESSAGES/messages.po (edited by translators,
# committed) compiled to .mo (generated, not committed) whenever a .po is newer.
LOCALE := messages/locale
PO_FILES := $(wildcard $(LOCALE)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

$(LOCALE)/%/LC_MESSAGES/messages.mo: $(LOCALE)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

## make catalogues: compile the .po translations to .mo (make run and make test do it first)
catalogues: $(MO_FILES)

## make messages: extract every _("…") into messages.pot and merge it into each language's .po
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --sort-output --omit-header \
		-o $(LOCALE)/messages.pot .
	for po in $(PO_FILES); do \
		$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete --no-wrap \
			-i $(LOCALE)/messages.pot -o $$po -l ja; \
	done

## make run: the bot, the LINE emulator and the simulator page on http://127.0.0.1:8000/
run: $(STAMP) catalogues
	$(BIN)/python app.py

## make class: class mode: the simulator on the local network with a class PIN (emulator only; web/classroom.py)
class: $(STAMP) catalogues
	$(BIN)/python app.py --class

## make test: ruff and the whole suite, with throwaway Redis and PostgreSQL when none answers (tests/testenv.py)
test: $(STAMP) catalogues
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m tests.testenv -- $(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make bench: every benchmark at full size (issue 7's end-to-end ones take long on a slow bot;
## each script has scale options for a quick run, e.g. bench/tap_storm.py --groups 20 --spike 200)
bench: $(STAMP)
	$(BIN)/python bench/webhook_throughput.py
	$(BIN)/python bench/sweep_scale.py
	$(BIN)/python bench/notice_fanout.py
	$(BIN)/python bench/emulator_capacity.py
	$(BIN)/python bench/idle_latency.py
	$(BIN)/python bench/tap_storm.py
	$(BIN)/python bench/quake_fanout.py
	$(BIN)/python bench/push_cost.py
	$(BIN)/python bench/console_stats.py
	$(BIN)/python bench/watch_fanout.py

clean:
	rm -rf $(VENV) instance .pytest_cache
