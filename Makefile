# Two commands matter: `make run` (a demo college at http://127.0.0.1:8000/) and `make test`.
# Both make .venv themselves and reinstall only when pyproject.toml changes.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# python3.11 if it is on PATH, else python3 (checked to be 3.11 when the venv is made).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PIP := $(BIN)/python -m pip -qq --disable-pip-version-check
# The stamps carry the hash of pyproject.toml: a changed pin means a new stamp, so a new install.
DEPS_HASH := $(shell (sha256sum pyproject.toml 2>/dev/null || shasum -a 256 pyproject.toml) | cut -c1-12)
RUN_STAMP := $(VENV)/.installed-run-$(DEPS_HASH)
TEST_STAMP := $(VENV)/.installed-test-$(DEPS_HASH)

HOST ?= 127.0.0.1
PORT ?= 8000
EMULATOR_PORT ?= 8081
PYTEST_ARGS ?=

.PHONY: help run test lint fmt clean

help:
	@echo "make run    — база, демо-колледж и сервер на http://$(HOST):$(PORT)/"
	@echo "make test   — все тесты (SQLite, если DATABASE_URL не задан)"
	@echo "make lint   — ruff check, ruff format --check, makemigrations --check"
	@echo "make fmt    — ruff format и ruff check --fix"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Нужен Python 3.11 (python3.11 или python3)." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
		echo "Нужен Python 3.11, а $(PYTHON) — $$($(PYTHON) --version)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The test extras include the runtime dependencies, so either stamp satisfies `make run`.
$(RUN_STAMP): | $(BIN)/python
	@if [ -e $(TEST_STAMP) ]; then touch $@; else \
		echo "Устанавливаю зависимости…"; \
		$(PIP) install . && rm -f $(VENV)/.installed-run-* && touch $@; fi

$(TEST_STAMP): | $(BIN)/python
	@echo "Устанавливаю зависимости с тестовыми…"
	@$(PIP) install ".[test]"
	@rm -f $(VENV)/.installed-test-* $(VENV)/.installed-run-*
	@touch $@ $(RUN_STAMP)

run: export DEBUG := true
# The site talks to the emulator started below unless pointed elsewhere.
run: export VK_API_BASE_URL := $(or $(VK_API_BASE_URL),http://127.0.0.1:$(EMULATOR_PORT))
run: $(RUN_STAMP)
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	@# The VK Messenger + VK ID emulator beside the site (VK_API_BASE_URL's default), stopped
	@# with it; its state survives restarts in var/emulator.json. `nightly` then builds the
	@# mandatory chats and pushes what changed — nothing, on a second start.
	@$(BIN)/python manage.py vk_emulator --port $(EMULATOR_PORT) --state-file var/emulator.json \
		> var/emulator.log 2>&1 & emulator=$$!; \
	trap 'kill $$emulator 2>/dev/null' EXIT INT TERM; \
	sleep 1; \
	$(BIN)/python manage.py nightly; \
	echo; \
	echo "Откройте http://$(HOST):$(PORT)/   (эмулятор VK: http://127.0.0.1:$(EMULATOR_PORT)/emulator/state)"; \
	echo "Ночные задачи и передача в мессенджер вручную: .venv/bin/python manage.py nightly"; \
	echo; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(TEST_STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: export DEBUG := true
# All three run even when one fails, so one pass shows everything to fix.
lint: $(TEST_STAMP)
	@status=0; \
	echo "ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "makemigrations --check"; \
	$(BIN)/python manage.py makemigrations --check --dry-run || status=1; \
	exit $$status

fmt: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
