# The two commands of the README. Everything is installed from this project's own files into .venv:
# pip installs uv (pinned with hashes in .ci/uv-requirements.txt), uv installs the project and every
# dependency at the versions and hashes of uv.lock. `make lock` brings uv.lock in line with pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
HOST ?= 127.0.0.1
PORT ?= 8000
# uv installs into this project's .venv; the lock must already agree with pyproject.toml (`make lock` if not)
export UV_PROJECT_ENVIRONMENT := $(VENV)
# uv trusts the machine's certificate store as pip does (a TLS-inspecting proxy's CA is found there)
export UV_SYSTEM_CERTS := 1
UV_SYNC := $(UV) sync --locked --python $(BIN)/python

.PHONY: run test lint lock venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): .ci/uv-requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r .ci/uv-requirements.txt
	touch $@

# --inexact: `make run` after `make test` keeps the dev tools (everything else is exactly the lock's)
$(VENV)/.run-installed: pyproject.toml uv.lock $(UV)
	$(UV_SYNC) --inexact --quiet
	touch $@

$(VENV)/.dev-installed: pyproject.toml uv.lock $(UV)
	$(UV_SYNC) --extra dev --quiet
	touch $@ $(VENV)/.run-installed

venv: $(VENV)/.dev-installed

run: $(VENV)/.run-installed
	$(BIN)/hesabu migrate
	$(BIN)/hesabu serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# after a change to the dependencies in pyproject.toml; UPGRADE=1 also moves every pin to the newest allowed
lock: $(UV)
	$(UV) lock $(if $(UPGRADE),--upgrade)
	echo 'uv==$(shell $(UV) --version | cut -d" " -f2)' | $(UV) pip compile - --no-config --generate-hashes \
		--universal --no-header --quiet -o .ci/uv-requirements.txt

# the chat page's browser test drives Debian's chromium with Playwright (never `playwright install`)
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

test: lint $(CHROMIUM)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
