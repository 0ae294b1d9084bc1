# The two commands a new user runs: `make demo` and `make test`. Both build .venv from scratch.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Airflow the tests and the demo run on (the package accepts 3.0 and later); override: make test AIRFLOW_VERSION=3.2.2
AIRFLOW_VERSION ?= 3.3.2

# The older supported Airflow line CI checks besides the newest (its latest patch), in its own venv:
#   make test-compat AIRFLOW_VERSION=3.2.2 VENV=.venv-3.2
# runs the unit tests, one `airflow dags test` DAG (sync + deferrable + sensor) and the LocalExecutor deployment.
COMPAT_TESTS := tests/unit tests/e2e/test_run_flow_dags.py::test_run_flows_dag tests/e2e/test_pool_cap_deployment.py

.PHONY: demo test test-compat lint bench clean

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
	bash scripts/system_packages.sh  # Debian packages: redis-server, chromium (browser test), postgresql
	$(BIN)/python -m pytest -ra

test-compat: $(STAMP)
	$(BIN)/python -m pytest -ra -p no:cacheprovider $(COMPAT_TESTS)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .venv-3.* .demo .pytest_cache .mypy_cache .ruff_cache
