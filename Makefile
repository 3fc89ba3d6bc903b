# pacte: the two commands of the README, plus what CI and benchmarks need.
# Works on a fresh machine with Python >= 3.11 and make: uv is installed into .tools/ if missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
RUN := $(UV) run --frozen
PG_URL ?= postgres://postgres@127.0.0.1:5432/pacte
SYSTEM_PACKAGES_TEST := chromium:chromium pdftotext:poppler-utils

.PHONY: help install system-deps run test lint format bench check-deploy

help:
	@echo "make run    – installe, migre, charge les référentiels et la démo, sert http://127.0.0.1:8000 (et les tâches de fond)"
	@echo "make test   – installe et lance toute la suite de tests"
	@echo "make lint   – ruff check + ruff format --check + makemigrations --check"
	@echo "make bench  – mesure sur PostgreSQL ($(PG_URL)_bench) : seed_demo --scale national, les pages, les tableaux de bord, la convention de 60 actions, l'import de 5 000 fiches"

.tools/bin/uv:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 est requis.")'
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

install: $(if $(shell command -v uv 2>/dev/null),,.tools/bin/uv)
	$(UV) sync --frozen

# System packages the tests need (browser tests, PDF read-back). Installed with apt-get when we are
# root; otherwise we stop and say which package is missing. Never skipped.
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES_TEST); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installation des paquets système :$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Paquets système manquants :$$missing (installez-les : sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

# The web server and, beside it, the worker of the background tasks (documents, batch prints); the worker stops
# when the server stops (Ctrl+C reaches both; any other end of runserver kills it). The worker does not reload on
# code changes: restart make run after changing a task.
run: install
	$(RUN) python manage.py migrate --no-input
	$(RUN) python manage.py charger_referentiels
	$(RUN) python manage.py seed_demo --scale region --if-empty
	$(RUN) python manage.py creer_certificat_demo
	$(RUN) python manage.py demo_logins
	@$(RUN) python manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(RUN) python manage.py runserver 127.0.0.1:8000

test: install system-deps
	$(RUN) pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) python manage.py makemigrations --check --dry-run

format: install
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

check-deploy: install
	DJANGO_ENV=production DEBUG=false ALLOWED_HOSTS=pacte.example.gouv.fr DATABASE_URL=$(PG_URL) \
	SECRET_KEY=ci-check-deploy-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ \
	$(RUN) python manage.py check --deploy --fail-level WARNING

# bench_tableaux: the dashboards at the demo's size, then with ten times its funding lines (copies of the fiches, kept
# by the bench database until the next bench_seed): last, as it changes the data. bench_pdf adds its 60-action
# contract once; bench_import rolls back what it writes.
bench: install
	DATABASE_URL=$(PG_URL)_bench $(RUN) python manage.py bench_seed --scale national --repeat 3 --output bench-seed.txt
	DATABASE_URL=$(PG_URL)_bench $(RUN) python manage.py bench_pages
	DATABASE_URL=$(PG_URL)_bench $(RUN) python manage.py bench_tableaux
	DATABASE_URL=$(PG_URL)_bench $(RUN) python manage.py bench_pdf
	DATABASE_URL=$(PG_URL)_bench $(RUN) python manage.py bench_import
	DATABASE_URL=$(PG_URL)_bench $(RUN) python manage.py bench_tableaux --multiplier 10

# Production: check the settings, collect the static files, migrate, then serve with gunicorn. Settings come from
# the environment or .env (at least SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL; see .env.example). BIND (or PORT),
# WEB_CONCURRENCY: where gunicorn listens and how many workers; GUNICORN_CMD_ARGS: any other gunicorn option.
.PHONY: prod
prod: install
	@DJANGO_ENV=production $(RUN) python manage.py check --deploy || { \
	  echo "make prod : réglages de production absents ou invalides (voir le message ci-dessus). Il faut au moins" \
	       "SECRET_KEY, ALLOWED_HOSTS et DATABASE_URL, dans l'environnement ou dans .env (voir .env.example)." >&2; \
	  exit 1; }
	DJANGO_ENV=production $(RUN) python manage.py collectstatic --no-input
	DJANGO_ENV=production $(RUN) python manage.py migrate --no-input
	DJANGO_ENV=production exec $(RUN) gunicorn pacte.wsgi \
	  --bind "$${BIND:-0.0.0.0:$${PORT:-8000}}" --workers "$${WEB_CONCURRENCY:-2}"
