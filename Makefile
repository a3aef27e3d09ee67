# Two commands set everything up on a machine with only Python 3.11 and make:
#   make demo   - creates .venv, installs, runs the main job on the bundled demo data
#   make test   - installs what the tests need (chromium and redis-server included), then ruff, mypy, pytest
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: setup demo test lint typecheck pytest chromium redis-server bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	@touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium (browser tests need it)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: browser tests will be skipped"; fi; }

redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's redis-server (the fleet tests need it)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server missing and not root: the fleet tests will be skipped"; fi; }

demo: setup chromium
	$(PY) -m crawler.demo.run

lint: setup
	$(VENV)/bin/ruff check crawler tests bench
	$(VENV)/bin/ruff format --check crawler tests bench

typecheck: setup
	$(VENV)/bin/mypy crawler

pytest: setup
	$(PY) -m pytest -q

test: setup chromium redis-server lint typecheck pytest

bench: setup
	$(PY) bench/throughput.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
