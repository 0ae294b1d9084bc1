"""Dataset names of exports and imports: the documented mapping (docs/lineage.md)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_celigo.lineage.naming import DatasetName, dataset_name, first_table

HOST = "api.integrator.io"
CONN = "6650c0000000000000000009"


def step(kind_block: dict[str, Any], step_id: str = "6650e0000000000000000009") -> dict[str, Any]:
    return {"_id": step_id, "_connectionId": CONN, **kind_block}


def rdbms(flavour: str, **fields: Any) -> dict[str, Any]:
    return {"_id": CONN, "type": "rdbms", "rdbms": {"type": flavour, **fields}}


@pytest.mark.parametrize(
    ("kind", "doc", "connection", "expected"),
    [
        (
            "exports",
            step({"rdbms": {"query": "SELECT id FROM analytics.public.orders WHERE x > 1"}}),
            rdbms("snowflake", host="xy12345.eu-west-1.snowflakecomputing.com"),
            DatasetName("snowflake://xy12345.eu-west-1", "analytics.public.orders"),
        ),
        (
            "imports",
            step({"rdbms": {"bulkInsert": {"tableName": "customers"}}}),
            rdbms("postgresql", host="DB.example.com", database="shop"),
            DatasetName("postgres://db.example.com:5432", "shop.public.customers"),
        ),
        (
            "imports",
            step({"rdbms": {"query": ["INSERT INTO orders (id) VALUES ({{data.id}})"]}}),
            rdbms("mysql", host="mysql.example.com", port=3307, database="erp"),
            DatasetName("mysql://mysql.example.com:3307", "erp.orders"),
        ),
        (
            "exports",
            step({"rdbms": {"query": "select * from [sales].[dbo].[invoices]"}}),
            rdbms("mssql", host="sql.example.com"),
            DatasetName("mssql://sql.example.com:1433", "sales.dbo.invoices"),
        ),
        (
            "imports",
            step({"rdbms": {"bulkInsert": {"tableName": "proj.ds.events"}}}),
            rdbms("bigquery"),
            DatasetName("bigquery", "proj.ds.events"),
        ),
        (
            "exports",
            step({"s3": {"bucket": "drops", "keyStartsWith": "/in/orders-"}}),
            {"_id": CONN, "type": "s3", "s3": {}},
            DatasetName("s3://drops", "in/orders-"),
        ),
        (
            "imports",
            step({"ftp": {"directoryPath": "/out/", "fileName": "orders.csv"}}),
            {"_id": CONN, "type": "ftp", "ftp": {"hostURI": "sftp://files.example.com", "type": "sftp"}},
            DatasetName("sftp://files.example.com:22", "out/orders.csv"),
        ),
        (
            "exports",
            step({"ftp": {"directoryPath": "/legacy"}}),
            {"_id": CONN, "type": "ftp", "ftp": {"hostURI": "ftp.legacy.example", "port": 21}},
            DatasetName("ftp://ftp.legacy.example:21", "legacy"),
        ),
    ],
)
def test_standard_schemes(kind: str, doc: dict[str, Any], connection: dict[str, Any], expected: DatasetName) -> None:
    assert dataset_name(HOST, kind, doc, connection) == expected


@pytest.mark.parametrize(
    "connection",
    [
        {"_id": CONN, "type": "http", "http": {"baseURI": "https://shop.example.com"}},
        {"_id": CONN, "type": "netsuite", "netsuite": {"account": "TSTDRV1"}},
        rdbms("snowflake", host="x.snowflakecomputing.com"),  # no query, no table: no standard name
        rdbms("oracle", host="ora.example.com"),
        None,
    ],
)
def test_other_steps_get_the_celigo_fallback(connection: dict[str, Any] | None) -> None:
    named = dataset_name(HOST, "imports", step({}, "6650d0000000000000000009"), connection)
    assert named == DatasetName(
        "celigo://api.integrator.io", f"connections/{CONN}/imports/6650d0000000000000000009", standard=False
    )


def test_first_table_reads_and_writes() -> None:
    assert first_table("SELECT a FROM s.t JOIN u ON 1=1", writes=False) == "s.t"
    assert first_table("UPDATE stock SET n = 1", writes=True) == "stock"
    assert first_table("SELECT 1", writes=False) is None
