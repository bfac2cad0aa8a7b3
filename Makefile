# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test soak lint format worker bench screenshots wheel-check clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python demo.py

# The suite, then the browser tests in their own invocation (Playwright's sync API and the
# suite's asyncio loop stay apart). The browser tests need Debian's chromium (.ci/run installs it).
test: install
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q browser_tests

# The races again and again: fifty identical complaints at once, twenty rounds on each database
# (make test runs four).
soak: install
	COMPLAINTS_SOAK_ROUNDS=20 $(BIN)/python -m pytest -q tests/integration/test_same_instant_repeats.py

# The console's screenshots in docs/img, taken by the browser tests.
screenshots: install
	COMPLAINTS_SCREENSHOTS=docs/img $(BIN)/python -m pytest -q browser_tests

# ruff (errors, bugbear, import order, pyupgrade; and the format) and mypy on the whole project.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# The engine as a package: a wheel, installed into a fresh virtual environment outside the
# checkout, finds its configuration (package data) and runs its commands from anywhere.
wheel-check: install
	@set -e; out=$$(mktemp -d); \
	$(BIN)/python -m pip wheel -q --no-deps -w $$out/dist . ; \
	$(PYTHON) -m venv $$out/venv; \
	$$out/venv/bin/python -m pip install -q $$out/dist/*.whl; \
	cd $$out && $$out/venv/bin/python -m starter --help > /dev/null && \
	COMPLAINTS_DATA_DIR=$$out/data $$out/venv/bin/python -m worker --check && \
	echo "wheel-check: the installed wheel runs outside the checkout" && rm -rf $$out build

# Rewrites the code in the project's format (ruff format) and fixes what ruff can.
format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install
	$(BIN)/python worker.py

# The engine next to bare Temporal on the embedded dev server (about 20 minutes; see README), then
# a city's read model of a million cases on a throwaway PostgreSQL (bench/city.py, about 10
# minutes; Debian's postgresql, as the tests use), then what issue 40 adds to a filing (bench/intake.py,
# about 3 minutes), then 类案 clustering against MinHash on labelled cases (bench/similar.py, seconds),
# then the suggested unit's training on 100,000 cases and its asking (bench/suggest.py, about a minute),
# then a phone's photo judged and kept, and ten 100 MiB recordings at once (bench/evidence.py, a minute).
bench: install
	$(BIN)/python -m bench
	$(BIN)/python -m bench.city
	$(BIN)/python -m bench.intake
	$(BIN)/python -m bench.similar
	$(BIN)/python -m bench.suggest
	$(BIN)/python -m bench.evidence --http

clean:
	rm -rf $(VENV) data build .pytest_cache .mypy_cache .ruff_cache *.egg-info
