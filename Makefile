# Seedance Studio. `make run` starts the whole product; `make test` runs lint and tests.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint format chromium gettext catalogs messages test-fast test-scaleout screenshots clean help

help:
	@echo "make run      start web, workers, dispatcher and simulator (Ctrl-C stops all)"
	@echo "make test     lint + the whole test suite (installs what it needs)"
	@echo "make messages update locale/*.po after adding or changing strings"

$(STAMP): pyproject.toml
	@python_bin=$$(.ci/find-python) || exit 1; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$python_bin"; "$$python_bin" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

var:
	@mkdir -p var

# Translations: the .po sources live in the repo, the compiled .mo files are built
# here (GNU gettext's msgfmt; installed like chromium when missing).
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

gettext:
	@if ! command -v msgfmt >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing GNU gettext for the translations"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; \
	  else echo "msgfmt missing: install GNU gettext" >&2; exit 1; fi; \
	fi

%.mo: %.po | gettext
	@msgfmt --check --output-file=$@ $<

catalogs: $(MO_FILES)

# After adding or changing a string: refresh the catalogs, then translate the new
# entries in locale/ru/LC_MESSAGES/*.po (make test fails until none is missing).
messages: $(STAMP) gettext
	$(PY) manage.py makemessages --locale ru --no-location --no-obsolete --ignore '.venv/*' --ignore 'var/*'
	$(PY) manage.py makemessages --locale ru --no-location --no-obsolete --domain djangojs --ignore '.venv/*' --ignore 'var/*' --ignore 'static/vendor/*'

run: $(STAMP) var catalogs
	$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py ensure_demo_user
	$(PY) manage.py run_studio

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy generations seedance_site

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and cannot be installed here: browser tests will skip"; fi; \
	fi

# The suites that depend on the database engine and the broker run a second time
# on PostgreSQL + Redis (the machine's services), with at-most-once Redis semantics.
# tests/test_faults.py (the fault matrix) runs only here, on a PostgreSQL and a
# Redis it starts itself (it restarts and flushes them, never the machine's).
SCALEOUT_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/seedance
SCALEOUT_REDIS_URL ?= redis://127.0.0.1:6379/0
SCALEOUT_TESTS ?= tests/test_pipeline_sim.py tests/test_webhooks.py tests/test_crash.py \
	tests/test_ratelimit.py tests/test_pipeline_states.py tests/test_client.py \
	tests/test_credits.py tests/test_credits_concurrency.py tests/test_credits_state_machine.py \
	tests/test_security_login_parallel.py tests/test_backup.py tests/test_breaker.py \
	tests/test_metrics.py tests/test_queue_control.py tests/test_api_concurrency.py tests/test_api_webhooks.py \
	tests/test_search.py tests/test_views_live.py tests/test_windows.py tests/test_views_auth.py tests/test_film.py tests/test_bench_fresh.py \
	tests/browser/test_e2e_real_processes.py tests/test_two_nodes.py tests/test_faults.py

test: $(STAMP) var catalogs chromium lint
	$(VENV)/bin/pytest
	@$(MAKE) --no-print-directory test-scaleout

test-scaleout: $(STAMP) var catalogs
	@if DATABASE_URL=$(SCALEOUT_DATABASE_URL) REDIS_URL=$(SCALEOUT_REDIS_URL) \
	    $(PY) .ci/services-up; then \
	  DATABASE_URL=$(SCALEOUT_DATABASE_URL) REDIS_URL=$(SCALEOUT_REDIS_URL) \
	    $(VENV)/bin/pytest $(SCALEOUT_TESTS); \
	else echo "SKIPPED the PostgreSQL + Redis run: the services cannot be reached (see above)"; fi

test-fast: $(STAMP) var catalogs
	$(VENV)/bin/pytest -m "not browser and not slow"

screenshots: $(STAMP) var catalogs
	$(PY) manage.py screenshots

clean:
	rm -rf $(VENV) var
