"""Apache Airflow provider for Celigo integrator.io."""

__version__ = "0.1.0"
