"""Airflow assets for integrator.io flows: the ``celigo`` URI scheme and ``celigo_flow_asset``.

A flow's asset is ``celigo://<API host>/flows/<flow id>``, for example
``celigo://api.integrator.io/flows/6650f0000000000000000001``. The API host comes from the connection's
region or ``base_url`` (never its token), so the same flow id in two accounts of different regions gives
two assets. ``CeligoRunFlowOperator`` declares its flow's asset as an outlet (``emit_asset=False`` opts
out), and a DAG scheduled on it runs after each successful run::

    from airflow.sdk import DAG
    from airflow_provider_celigo.assets import celigo_flow_asset

    with DAG("after_orders", schedule=[celigo_flow_asset("6650f0000000000000000001")]):
        ...

``celigo_flow_runs_asset`` is the asset of every run of the flow, whoever started it (integrator.io's
schedule included): ``celigo://<API host>/flows/<flow id>/runs``, watched by ``CeligoFlowRunEventTrigger``.

The scheme is registered through the provider metadata (``asset-uris``): Airflow calls
``normalize_celigo_uri`` on every ``celigo://`` URI, which refuses a malformed one, and the OpenLineage
provider turns the asset into a dataset with ``to_openlineage_dataset``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import Asset

__all__ = [
    "SCHEME",
    "api_host",
    "celigo_flow_asset",
    "celigo_flow_runs_asset",
    "flow_asset_uri",
    "normalize_celigo_uri",
]

SCHEME = "celigo"
#: Resource kinds an asset URI may name (``celigo://<host>/<kind>/<24-hex id>``).
_KINDS = ("flows", "integrations", "exports", "imports")
_PATH = re.compile(r"^/(?P<kind>[a-z]+)/(?P<id>[0-9a-fA-F]{24})(?P<runs>/runs)?$")
_URI_SHAPE = (
    f"{SCHEME}://<API host>/flows/<24-hex flow id>, e.g. {SCHEME}://api.integrator.io/flows/6650f0000000000000000001"
)


def normalize_celigo_uri(parts: SplitResult) -> SplitResult:
    """Return a ``celigo://`` URI in its one spelling: lower-case host, no default port, lower-case id.

    Airflow calls this for every asset URI with the ``celigo`` scheme (registered in the provider metadata).
    Raises ValueError (Airflow then refuses the asset) for a URI without a host, with a path other than
    ``/<flows|integrations|exports|imports>/<24-hex id>`` (or ``/flows/<id>/runs``), or with a query.
    """
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"Celigo asset URI {urlunsplit_safe(parts)!r} has no API host; write {_URI_SHAPE}")
    match = _PATH.match(parts.path or "")
    if match is None or match["kind"] not in _KINDS or (match["runs"] and match["kind"] != "flows"):
        raise ValueError(
            f"Celigo asset URI {urlunsplit_safe(parts)!r} has path {parts.path!r}; write {_URI_SHAPE} "
            f"(kinds: {', '.join(_KINDS)})"
        )
    if parts.query:
        raise ValueError(f"Celigo asset URI {urlunsplit_safe(parts)!r} has a query; leave it out ({_URI_SHAPE})")
    port = parts.port
    netloc = host if port in (None, 443) else f"{host}:{port}"
    return SplitResult(SCHEME, netloc, f"/{match['kind']}/{match['id'].lower()}{match['runs'] or ''}", "", "")


def urlunsplit_safe(parts: SplitResult) -> str:
    """Return the URI of ``parts`` without user info (which may hold a secret), for messages."""
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{parts.path}"


def api_host(base_url: str) -> str:
    """Return the host (and a non-default port) of an API base URL: ``api.integrator.io``, ``127.0.0.1:8765``."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    return host if parts.port in (None, 443) else f"{host}:{parts.port}"


@functools.lru_cache(maxsize=64)
def _connection_api_host(celigo_conn_id: str) -> str:
    # Cached: a DAG file declaring many flow assets reads each connection once per parsing process.
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    return api_host(CeligoHook(celigo_conn_id).settings.base_url)


def flow_asset_uri(flow_id: str, celigo_conn_id: str = DEFAULT_CONN_ID) -> str:
    """Return ``celigo://<API host>/flows/<flow id>`` for a flow of the connection's account.

    Reads the connection (region or ``base_url``; once per process and connection). Raises
    CeligoConfigError for a malformed flow id or a connection the provider cannot use, and Airflow's
    not-found error for a connection that does not exist.
    """
    flow_id = check_id(flow_id, "flow_id").lower()
    return f"{SCHEME}://{_connection_api_host(celigo_conn_id)}/flows/{flow_id}"


def celigo_flow_asset(flow_id: str, celigo_conn_id: str = DEFAULT_CONN_ID, **asset_kwargs: Any) -> Asset:
    """Return the Airflow ``Asset`` of an integrator.io flow: ``celigo://<API host>/flows/<flow id>``.

    ``asset_kwargs`` go to ``Asset`` (``watchers=``, ``extra=``, ``group=``); the name is the URI, so the
    asset a run operator declares and the one a downstream DAG schedules on are the same. Raises as
    ``flow_asset_uri``.
    """
    from airflow.sdk import Asset

    uri = flow_asset_uri(flow_id, celigo_conn_id)
    return Asset(name=uri, uri=uri, **asset_kwargs)


def celigo_flow_runs_asset(
    flow_id: str,
    celigo_conn_id: str = DEFAULT_CONN_ID,
    *,
    poll_interval: float = 60.0,
    statuses: Sequence[str] = ("completed",),
    **asset_kwargs: Any,
) -> Asset:
    """Return the asset ``celigo://<API host>/flows/<flow id>/runs``, watched by a ``CeligoFlowRunEventTrigger``.

    It gets an event for every run of the flow that integrator.io records, whoever started it (its schedule, a
    person, a chained flow, another DAG); a DAG scheduled on it runs once per such run. It is a separate asset
    from ``celigo_flow_asset`` (whose events come from the run operator's task), so that a run started by
    ``CeligoRunFlowOperator`` does not schedule a DAG on both twice. Raises as ``flow_asset_uri`` and as the
    trigger (bad ``poll_interval`` or ``statuses``).
    """
    from airflow.sdk import Asset, AssetWatcher

    from airflow_provider_celigo.triggers.events import CeligoFlowRunEventTrigger

    uri = flow_asset_uri(flow_id, celigo_conn_id) + "/runs"
    trigger = CeligoFlowRunEventTrigger(
        flow_id=flow_id, celigo_conn_id=celigo_conn_id, poll_interval=poll_interval, statuses=statuses
    )
    watcher = AssetWatcher(name=f"celigo_flow_runs_{trigger.flow_id}", trigger=trigger)
    return Asset(name=uri, uri=uri, watchers=[watcher], **asset_kwargs)


def to_openlineage_dataset(asset: Any, lineage_context: Any = None) -> Any:
    """Return the OpenLineage dataset of a ``celigo://`` asset: namespace ``celigo://<host>``, name the path.

    Registered as the scheme's ``to_openlineage_converter``; needs the OpenLineage provider. Raises
    ValueError for a URI that is not a Celigo asset URI.
    """
    from openlineage.client.event_v2 import Dataset

    parts = normalize_celigo_uri(urlsplit(str(asset.uri)))
    return Dataset(namespace=f"{SCHEME}://{parts.netloc}", name=parts.path.lstrip("/"))
