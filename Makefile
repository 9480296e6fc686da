# Two commands for a fresh machine with only Python 3.11 and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Empty: the database is PAPERS_DB (environment or .env), else data/papers.db.
DB ?=
DB_OPTION := $(if $(DB),--db $(DB))
# Empty: the stand-in listens on 3001 (`make run STANDIN_PORT=3101` when that port is taken).
STANDIN_PORT ?=
STANDIN_OPTION := $(if $(STANDIN_PORT),--standin-port $(STANDIN_PORT))

.PHONY: run test lint format bench fuzz clean browser-deps screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/papers $(DB_OPTION) ingest seeds/
	$(BIN)/papers $(DB_OPTION) run $(STANDIN_OPTION)

test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q --numprocesses=auto --maxprocesses=4

# Debian's Chromium for the browser test, only if it is missing and we are root with
# apt-get (as on CI). Never fatal: without Chromium the browser test is skipped, saying why.
browser-deps:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$CHROMIUM_BIN" ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser-deps: installing chromium with apt-get ..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && \
	    apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; } \
	  || echo "browser-deps: WARNING: apt-get install chromium failed; browser tests will be skipped"; \
	else \
	  echo "browser-deps: chromium not found and not root with apt-get; browser tests will be skipped"; \
	fi

# The README's screenshots of the stand-in page, taken by the browser test.
screenshots: $(STAMP) browser-deps
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/slackstub/test_page_browser.py

bench: $(STAMP)
	$(BIN)/python -m bench.run

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -m fuzz -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data *.egg-info
