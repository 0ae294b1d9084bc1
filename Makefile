# The two commands a new user runs: `make demo` and `make test`. Both build .venv from scratch.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Airflow the tests and the demo run on (the package itself accepts any 3.x); override: make test AIRFLOW_VERSION=3.2.2
AIRFLOW_VERSION ?= 3.3.2

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]" "apache-airflow==$(AIRFLOW_VERSION)" $(addprefix -c ,$(wildcard constraints/airflow-$(word 1,$(subst ., ,$(AIRFLOW_VERSION))).$(word 2,$(subst ., ,$(AIRFLOW_VERSION))).txt))
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_celigo tests example_dags benchmarks scripts
	$(BIN)/ruff format --check airflow_provider_celigo tests example_dags benchmarks scripts
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -ra

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
