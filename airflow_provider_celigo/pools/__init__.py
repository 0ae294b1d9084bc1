"""Airflow pools for Celigo connections: naming, the ``pools sync`` plan, and an opt-in task policy.

**Naming.** Every Celigo connection's tasks share the pool ``celigo_<conn_id>``; a connection that borrows its
concurrency (extra ``borrow_concurrency_from``) shares its lender's pool. The pool has ``concurrency_level``
slots and ``include_deferred=True``, so a deferred task that waits on a job keeps its slot.

**Creating pools.** Pools are admin configuration: Airflow 3 gives task code, DAG parsing and triggers no
database access, so hooks and operators never create them. ``airflow-celigo pools sync`` (``pools/cli.py``)
runs where ``airflow pools set`` would: it reads every Celigo connection (metadata DB and ``AIRFLOW_CONN_*``),
validates it and creates or resizes its pool through ``Pool.create_or_update_pool``.

**Putting tasks into their pool.** ``celigo_pool_policy(task)`` is meant to be called from the deployment's
``airflow_local_settings.py``::

    from airflow_provider_celigo.pools import celigo_pool_policy

    def task_policy(task):
        celigo_pool_policy(task)

It is pure string work (no connection or database look-up: policies run while DAGs are parsed). Because a
task whose pool does not exist is never scheduled, the policy only assigns pools the deployment *declares*
as synced, in Airflow config ``[celigo] synced_pools`` (env ``AIRFLOW__CELIGO__SYNCED_POOLS``): a comma
separated list of pool names, or ``*`` once ``pools sync`` runs in the deployment pipeline. With the setting
absent the policy changes nothing, so a first run without set-up runs in ``default_pool`` instead of hanging.
``pools sync`` prints the values to declare. We chose this declared marker over guessing because the only
way to know a pool exists is a database query, which a parse-time policy must not (and in Airflow 3 cannot)
make.

A borrower's pool is its lender's, which only a connection look-up reveals. Either set ``pool=`` on such
tasks, or declare the loans in ``[celigo] pool_overrides`` (``borrower=lender`` pairs, comma separated;
``pools sync`` prints them too). Tasks with an explicit pool, a templated ``celigo_conn_id`` or no
``celigo_conn_id`` are left alone.
"""

from airflow_provider_celigo.connection import pool_name_for
from airflow_provider_celigo.pools.planning import (
    ConnectionProblem,
    DesiredPool,
    PoolChange,
    desired_pools,
    plan_changes,
)
from airflow_provider_celigo.pools.policy import celigo_pool_policy

__all__ = [
    "ConnectionProblem",
    "DesiredPool",
    "PoolChange",
    "celigo_pool_policy",
    "desired_pools",
    "plan_changes",
    "pool_name_for",
]
