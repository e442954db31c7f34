# opencrime: `make demo` runs the whole pipeline through Airflow on the bundled sample;
# `make test` runs the test suite. Both create .venv and install the pinned lock file first.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA_IN ?= $(CURDIR)/sample_data
DATA_ROOT ?= $(CURDIR)/data
FIRST_MONTH ?= 2025-01
LAST_MONTH ?= 2025-03

# The demo's releases stay on this machine; a deployment sets the https address it serves them at
# (the catalogue records' IRIs build on it, and publishing refuses to run without it).
export OPENCRIME_PUBLIC_BASE_URL ?= https://localhost/opencrime/releases
export AIRFLOW_HOME := $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
# airflow.cfg writes these as absolute paths when it is created: given here, they follow the
# folder, so a copied or moved clone uses its own database and logs, never the original's
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(AIRFLOW_HOME)/airflow.db
export AIRFLOW__LOGGING__BASE_LOG_FOLDER := $(AIRFLOW_HOME)/logs
export AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY := $(AIRFLOW_HOME)/logs/dag_processor
# the UI's port (make airflow PORT=18080); the tasks reach the execution API on the same port
PORT ?= 8080
export GX_ANALYTICS_ENABLED := false
# the allocator settings of transforms/plumbing/workers.py (why: there), as the image sets them
export GLIBC_TUNABLES ?= glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824
export NO_COLOR ?=

.PHONY: demo test install airflow lint typecheck sample clean compose-env

# A virtual environment is bound to its folder (its scripts name their interpreter by absolute
# path, the editable install names the source folder): one copied or moved here is rebuilt.
ifneq ($(shell cat $(VENV)/.home 2>/dev/null),$(CURDIR))
$(shell rm -rf $(VENV))
endif

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	echo "$(CURDIR)" > $(VENV)/.home

# Reinstall only when the lock file, the project metadata or this recipe changed.
# Bytecode is compiled at install, as pip does and uv does not by default: where Python may not
# write it at run time (PYTHONDONTWRITEBYTECODE, a read-only image), every process would compile
# what it imports from source again, 3 s of GX's 5.7 s import in each task and worker.
$(VENV)/.installed: requirements.lock pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==0.13.9"
	$(BIN)/uv pip install --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
	touch $@

install: $(VENV)/.installed

$(AIRFLOW_HOME)/airflow.db: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/migrate.log; exit 1)

# one log per run (two runs at once are refused by the runner's lock, each with its own log)
DEMO_LOG := $(AIRFLOW_HOME)/demo-logs/$(shell date -u +%Y%m%dT%H%M%SZ)-$(shell echo $$PPID).log

demo: $(AIRFLOW_HOME)/airflow.db
	@mkdir -p $(dir $(DEMO_LOG))
	@OPENCRIME_DATA_IN=$(DATA_IN) OPENCRIME_DATA_ROOT=$(DATA_ROOT) \
	$(BIN)/python -m opencrime_airflow.runner --demo-contract > $(DEMO_LOG) 2>&1 \
	  || (sed -n '/^ignored /p; /^PIPELINE FAILED/,$$p' $(DEMO_LOG); \
	      echo "Full Airflow log of this run: $(DEMO_LOG)"; exit 1)
	@sed -n '/^ignored /p; /Airflow DagRuns/,$$p' $(DEMO_LOG)
	@echo "Full Airflow log of this run: $(DEMO_LOG)"

test: lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# The Airflow UI with the project loaded: http://localhost:$(PORT) (user and password are
# printed). The sample holds 2025-01..2025-03: the police DAG's catch-up is bounded to those
# months. standalone starts its components as `airflow …`: the environment's bin goes on PATH.
airflow: $(AIRFLOW_HOME)/airflow.db
	PATH="$(CURDIR)/$(BIN):$$PATH" \
	AIRFLOW__API__PORT=$(PORT) AIRFLOW__API__BASE_URL=http://localhost:$(PORT) \
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:$(PORT)/execution/ \
	OPENCRIME_DATA_IN=$(DATA_IN) OPENCRIME_DATA_ROOT=$(DATA_ROOT) \
	OPENCRIME_FIRST_MONTH=$(FIRST_MONTH) OPENCRIME_LAST_MONTH=$(LAST_MONTH) \
	$(BIN)/airflow standalone

# .env for `docker compose up`: .env.example with fresh random secrets (an existing .env is kept).
compose-env: $(VENV)/.installed
	@test ! -e .env || { echo ".env exists: not overwritten"; exit 1; }
	$(BIN)/python -m opencrime_airflow.compose_env .env.example > .env
	@echo "wrote .env: now docker compose up -d"

sample: $(VENV)/.installed
	$(BIN)/python sample_data/make_sample.py

clean:
	rm -rf $(AIRFLOW_HOME) $(DATA_ROOT)
