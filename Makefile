# Calisera: `make up` runs the platform, `make test` runs the whole suite.
# Needs only Python 3.11+ and make; everything else is installed pinned from uv.lock.

PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := $(VENV)/bin

# The interpreter itself, not a launcher: uv compares this path with the venv's base,
# and a pyenv shim never matched, so every make re-created .venv (about 30 s).
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_LINK_MODE := copy

.PHONY: install install-test up test lint unit integration chart-env test-chart bench audit lock clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Calisera needs Python 3.11 or newer (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled here, once: where PYTHONDONTWRITEBYTECODE is set (CI machines,
# containers) every process would otherwise compile its imports again at start, 3.6 s
# instead of 1.4 s of CPU for the app alone. Up-to-date files are skipped (0.5 s; in one
# process: a worker pool costs 5 s even then); a third-party file only a newer Python
# can compile is never imported by this one.
COMPILE := $(BIN)/python -m compileall -q

install: $(UV)  ## the platform, pinned from uv.lock
	@$(UV) sync --frozen --inexact --quiet
	@$(COMPILE) $(VENV)/lib >/dev/null || true
	@$(COMPILE) services >/dev/null

install-test: $(UV)  ## the platform plus test and lint tools
	@$(UV) sync --frozen --inexact --extra test --quiet
	@$(COMPILE) $(VENV)/lib >/dev/null || true
	@$(COMPILE) services operator tests bench >/dev/null

up: install  ## run everything on http://127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL)
	$(BIN)/calisera up

# pytest -m replaces the default `-m "not fuzz"` of pyproject.toml, so both runs say it.
TEST_PARALLEL := -n 2 --dist loadfile -m "not fuzz and not serial"
TEST_SERIAL := -m "serial and not fuzz"

test: install-test lint  ## every check and every test: in parallel, then the whole-platform ones alone
	$(BIN)/python -m pytest $(TEST_PARALLEL)
	$(BIN)/python -m pytest $(TEST_SERIAL)

lint: install-test  ## ruff, mypy, import boundaries
	$(BIN)/ruff check services operator tests bench
	$(BIN)/ruff format --check services operator tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install-test
	$(BIN)/python -m pytest tests/unit

integration: install-test
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "(integration or broker or redis) and not serial"

test-chart:  ## chart tests with real Helm in their own Python 3.12 env (.venv-chart)
	.ci/chart

bench: install-test  ## benchmarks; results go to bench/results/
	$(BIN)/python -m bench

audit: $(UV)  ## pip-audit over the locked dependencies (known vulnerabilities fail)
	.ci/audit

lock: $(UV)  ## re-resolve uv.lock after changing pyproject.toml
	$(UV) lock

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
