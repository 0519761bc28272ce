# The newcomer's commands. Each works on its own from a fresh clone:
#   make demo    build the example warehouse and generate its staging models
#   make test    run the whole test suite
# and, for contributors: make lint, make vscode, make clean.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Touched after a successful install; the install runs again only when pyproject.toml is newer.
STAMP := $(VENV)/.cartridge-installed
EXAMPLE := examples/shop
VSCODE := editor-client/vscode

.PHONY: demo test lint vscode venv clean distclean

demo: $(STAMP)
	$(BIN)/python $(EXAMPLE)/make_data.py
	$(BIN)/cartridge-lsp --generate --layers staging,intermediate,marts --tests --docs --project-dir $(EXAMPLE)
	cd $(EXAMPLE) && ../../$(BIN)/dbt build --profiles-dir . --quiet

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Runs every check, then fails if any did, so one run shows all the problems.
lint: $(STAMP)
	@status=0; \
	echo "ruff check"; $(BIN)/ruff check . || status=1; \
	echo "ruff format --check"; $(BIN)/ruff format --check . || status=1; \
	echo "mypy (cartridge_core)"; $(BIN)/mypy || status=1; \
	exit $$status

vscode:
	cd $(VSCODE) && npm ci --no-audit --no-fund && npm run compile

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Removes what builds, tests and the demo leave behind; keeps the virtual environment.
clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(EXAMPLE)/shop.duckdb $(EXAMPLE)/shop.duckdb.wal $(EXAMPLE)/models/staging
	rm -rf $(EXAMPLE)/target $(EXAMPLE)/logs $(EXAMPLE)/dbt_packages
	rm -rf $(VSCODE)/out $(VSCODE)/node_modules
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# clean, and the virtual environment too.
distclean: clean
	rm -rf $(VENV)
