"""OpenLineage dataset names for integrator.io exports and imports (no OpenLineage import here).

Where a step's connection is a system with a scheme in the OpenLineage naming spec, the dataset is named the
way that system's own integration names it, from what the export or import document says (the table of its
query, its bucket and key, its directory and file). Otherwise the dataset is Celigo's own:
namespace ``celigo://<API host>``, name ``connections/<connection id>/<exports|imports>/<step id>``.
The mapping is the table in docs/lineage.md; keep the two in step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DatasetName", "dataset_name", "fallback_name", "first_table"]

Doc = Mapping[str, Any]

#: rdbms.type values -> (OpenLineage scheme, default port, parts of a full name, default schema)
_RDBMS: dict[str, tuple[str, int | None, int, str | None]] = {
    "postgresql": ("postgres", 5432, 3, "public"),
    "postgres": ("postgres", 5432, 3, "public"),
    "mysql": ("mysql", 3306, 2, None),
    "mariadb": ("mysql", 3306, 2, None),
    "mssql": ("mssql", 1433, 3, "dbo"),
    "sqlserver": ("mssql", 1433, 3, "dbo"),
    "snowflake": ("snowflake", None, 3, None),
    "bigquery": ("bigquery", None, 3, None),
}
_FTP_PORTS = {"ftp": 21, "ftps": 21, "sftp": 22}
# The table a query reads (exports) or writes (imports): the first name after these words.
_READS = re.compile(r"\b(?:from|join)\s+((?:[`\"\[]?[\w$-]+[`\"\]]?\.){0,2}[`\"\[]?[\w$-]+[`\"\]]?)", re.IGNORECASE)
_WRITES = re.compile(
    r"\b(?:insert\s+into|merge\s+into|update|into|copy\s+into)\s+((?:[`\"\[]?[\w$-]+[`\"\]]?\.){0,2}[`\"\[]?[\w$-]+[`\"\]]?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DatasetName:
    """An OpenLineage dataset's ``namespace`` and ``name``; ``standard`` is False for the Celigo fallback."""

    namespace: str
    name: str
    standard: bool = True


def fallback_name(api_host: str, kind: str, step_id: str, connection_id: str | None) -> DatasetName:
    """Return the Celigo dataset of a step: ``celigo://<host>``, ``connections/<conn>/<kind>/<step>``."""
    owner = f"connections/{connection_id}" if connection_id else "connections/none"
    return DatasetName(f"celigo://{api_host}", f"{owner}/{kind}/{step_id}", standard=False)


def first_table(query: Any, *, writes: bool) -> str | None:
    """Return the first table a SQL text (or a list of them) reads (``writes=False``) or writes, unquoted."""
    texts = query if isinstance(query, list) else [query]
    pattern = _WRITES if writes else _READS
    for text in texts:
        if not isinstance(text, str):
            continue
        match = pattern.search(text)
        if match:
            return ".".join(part.strip('`"[]') for part in match.group(1).split("."))
    return None


def dataset_name(api_host: str, kind: str, step: Doc, connection: Doc | None) -> DatasetName:
    """Return the dataset of an export (``kind="exports"``) or import (``"imports"``) and its connection.

    ``connection`` is the connection document (None when the step has none or it could not be read).
    Never raises for odd documents: what cannot be named by a standard scheme gets the Celigo fallback.
    """
    step_id = str(step.get("_id") or "unknown")
    connection_id = step.get("_connectionId") if isinstance(step.get("_connectionId"), str) else None
    fallback = fallback_name(api_host, kind, step_id, connection_id)
    if not isinstance(connection, Mapping):
        return fallback
    ctype = str(connection.get("type") or "").lower()
    named: DatasetName | None = None
    if ctype == "rdbms":
        named = _rdbms_name(kind, step, _block(connection, "rdbms"))
    elif ctype == "ftp":
        named = _ftp_name(kind, step, _block(connection, "ftp"))
    elif ctype == "s3":
        named = _s3_name(kind, step)
    return named or fallback


def _block(doc: Doc, key: str) -> Doc:
    value = doc.get(key)
    return value if isinstance(value, Mapping) else {}


def _text(doc: Doc, key: str) -> str | None:
    value = doc.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _rdbms_name(kind: str, step: Doc, conn: Doc) -> DatasetName | None:
    flavour = (_text(conn, "type") or "").lower()
    if flavour not in _RDBMS:
        return None
    scheme, default_port, parts, default_schema = _RDBMS[flavour]
    block = _block(step, "rdbms")
    bulk = _block(block, "bulkInsert")
    table = _text(bulk, "tableName") if kind == "imports" else None
    table = table or first_table(block.get("query"), writes=kind == "imports")
    if not table:
        return None
    names = table.split(".")
    database = _text(conn, "database")
    if flavour == "bigquery":
        database = database or _text(_block(conn, "bigquery"), "projectId")
    schema = _text(conn, "schema") or _text(_block(conn, flavour), "schema") or default_schema
    if len(names) < parts and parts == 3 and len(names) == 1 and schema:
        names = [schema, *names]
    if len(names) < parts and database:
        names = [database, *names]
    if len(names) != parts:
        return None  # not enough to name the table fully: the Celigo fallback says more than a guess
    if scheme == "bigquery":
        return DatasetName("bigquery", ".".join(names))
    host = (_text(conn, "host") or "").lower()
    if not host:
        return None
    if scheme == "snowflake":
        account = host.removesuffix(".snowflakecomputing.com")
        return DatasetName(f"snowflake://{account}", ".".join(names))
    port = conn.get("port") or default_port
    return DatasetName(f"{scheme}://{host}:{port}", ".".join(names))


def _ftp_name(kind: str, step: Doc, conn: Doc) -> DatasetName | None:
    raw_host = _text(conn, "hostURI") or _text(conn, "host")
    if not raw_host:
        return None
    flavour = (_text(conn, "type") or "").lower()
    if "://" in raw_host:
        flavour = flavour or raw_host.split("://", 1)[0].lower()
        raw_host = raw_host.split("://", 1)[1]
    flavour = flavour if flavour in _FTP_PORTS else "ftp"
    host = raw_host.strip("/").lower()
    port = conn.get("port") or _FTP_PORTS[flavour]
    block = _block(step, "ftp")
    directory = (_text(block, "directoryPath") or "").strip("/")
    file_name = _text(block, "fileName") if kind == "imports" else None
    path = "/".join(part for part in (directory, file_name) if part)
    if not path:
        return None
    scheme = "sftp" if flavour == "sftp" else "ftp"
    return DatasetName(f"{scheme}://{host}:{port}", path)


def _s3_name(kind: str, step: Doc) -> DatasetName | None:
    block = _block(step, "s3")
    bucket = _text(block, "bucket")
    key = _text(block, "fileKey") if kind == "imports" else _text(block, "keyStartsWith")
    if not bucket or not key:
        return None
    return DatasetName(f"s3://{bucket}", key.lstrip("/"))
