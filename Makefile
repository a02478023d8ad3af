# MLOps Studio. `make run` starts everything on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
# The test suite runs on the real services.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mlops_studio
TEST_REDIS_URL ?= redis://127.0.0.1:6379/5

.PHONY: install python-deps python-dev-deps secret-key frontend migrate demo run worker web test test-unit lint bench clean schemathesis-venv api-types

install: python-deps frontend migrate

# Two stamps, each touched only after its install succeeded and remade when
# pyproject.toml changes: `make install`/`make run` install the runtime
# dependencies only; `make test` (and lint, bench) add the dev extras.
python-deps: $(VENV)/.installed
python-dev-deps: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e ".[dev]"
	touch $@

frontend:
	@if [ -f frontend/package.json ]; then \
		cd frontend && (test -d node_modules -a node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund) && npm run build; \
	fi

# Without SECRET_KEY in the environment the app reads var/secret_key and refuses to
# start if it is missing; this writes one once (a random key, never overwritten).
secret-key: python-deps
	$(PY) mlops_studio/secret_key.py

migrate: python-deps secret-key
	$(PY) manage.py migrate --no-input

demo: migrate
	$(PY) manage.py seed_demo

run: install demo
	$(PY) manage.py runstack --host $(HOST) --port $(PORT) --workers $(WORKERS)

worker: python-deps secret-key
	$(VENV)/bin/celery -A mlops_studio worker --loglevel=INFO --autoscale=$(WORKERS),1

test: python-dev-deps frontend
	cd frontend && npm test
	$(MAKE) schemathesis-venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# schemathesis (the API fuzzing step of `make test`) has its own venv: its pins
# (hypothesis, pytest, werkzeug …) are not the app's business.
SCHEMATHESIS_VENV := var/schemathesis-venv
SCHEMATHESIS_VERSION := 4.32.5
schemathesis-venv: $(SCHEMATHESIS_VENV)/.installed-$(SCHEMATHESIS_VERSION)

$(SCHEMATHESIS_VENV)/.installed-$(SCHEMATHESIS_VERSION):
	test -x $(SCHEMATHESIS_VENV)/bin/python || $(PYTHON) -m venv $(SCHEMATHESIS_VENV)
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet "schemathesis==$(SCHEMATHESIS_VERSION)"
	touch $@

# The editor's API types are generated from the OpenAPI schema; a test fails when they are stale.
api-types: python-deps secret-key
	mkdir -p var
	# The test database's backend: integer ranges (int64) in the schema depend on it.
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml
	cd frontend && npx --no-install openapi-typescript ../var/openapi.yaml --output src/api-schema.d.ts

test-unit: python-dev-deps
	$(PY) -m pytest tests/unit -q

lint: python-dev-deps
	$(VENV)/bin/ruff check .

BENCHES ?= engine_overhead cache parallel dispatch run_history serving editor drift
bench: python-dev-deps frontend
	for b in $(BENCHES); do echo "== bench/$$b.py"; (cd bench && ../$(PY) $$b.py) || exit 1; done

clean:
	rm -rf var frontend/dist
