"""The Celigo connection's fields: reading, validating and explaining them.

Everything a hook needs from an Airflow connection is turned into one frozen ``CeligoSettings``.
Every bad value is refused with a ``CeligoConfigError`` naming the field, the value (never the token)
and what is accepted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_celigo._connection_form import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
    MIN_CONCURRENCY,
)
from airflow_provider_celigo.exceptions import CeligoConfigError

CONN_TYPE = "celigo"
DEFAULT_CONN_ID = "celigo_default"
REGION_URLS: dict[str, str] = {
    "na": "https://api.integrator.io/v1",
    "eu": "https://api.eu.integrator.io/v1",
}
REGION_UI_URLS: dict[str, str] = {
    "na": "https://integrator.io",
    "eu": "https://eu.integrator.io",
}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class ConnectionLike(Protocol):
    """What the provider reads from an Airflow connection."""

    conn_id: str
    conn_type: str | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CeligoSettings:
    """A validated Celigo connection. ``token`` is never shown in the repr."""

    conn_id: str
    token: str = field(repr=False)
    region: str = "na"
    base_url: str = REGION_URLS["na"]
    concurrency_level: int = DEFAULT_CONCURRENCY
    concurrency_owner: str = DEFAULT_CONN_ID
    borrowed_from: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    verify_ssl: bool = True

    @property
    def pool_name(self) -> str:
        """The Airflow pool that caps this connection's tasks: ``celigo_<owner conn id>``."""
        return pool_name_for(self.concurrency_owner)

    @property
    def ui_url(self) -> str:
        """The integrator.io web UI of this connection's region."""
        return REGION_UI_URLS.get(self.region, REGION_UI_URLS["na"])


def pool_name_for(conn_id: str) -> str:
    """Return the pool name for a Celigo connection id, e.g. ``celigo_celigo_default``."""
    return f"celigo_{conn_id}"


def read_extra(extras: Mapping[str, Any], name: str) -> Any:
    """Return an extra by its plain name or the ``extra__celigo__`` prefixed name of older UIs."""
    value = extras.get(name)
    if value in (None, ""):
        value = extras.get(f"extra__{CONN_TYPE}__{name}")
    return None if value == "" else value


def parse_region(value: Any) -> str:
    """Return ``na`` or ``eu``; raises CeligoConfigError for anything else."""
    if value is None:
        return "na"
    region = str(value).strip().lower()
    if region not in REGION_URLS:
        raise CeligoConfigError(
            f"Celigo connection extra 'region' is {value!r}; use one of {sorted(REGION_URLS)} "
            "('na' = North America, api.integrator.io; 'eu' = Europe, api.eu.integrator.io)."
        )
    return region


def parse_token(value: Any) -> str:
    """Return the API token from the connection's password; raises CeligoConfigError when empty."""
    token = "" if value is None else str(value).strip()
    if not token:
        raise CeligoConfigError(
            "Celigo connection has no API token: put the integrator.io API token in the connection's "
            "password field (Admin > Connections, or the 'password' key of AIRFLOW_CONN_<ID>)."
        )
    if any(char.isspace() for char in token):
        raise CeligoConfigError(
            "Celigo connection's API token contains whitespace; paste the token alone into the password field."
        )
    return token


def parse_concurrency_level(value: Any) -> int:
    """Return a concurrency level in 1..25; raises CeligoConfigError otherwise."""
    if value is None:
        return DEFAULT_CONCURRENCY
    problem = (
        f"Celigo connection extra 'concurrency_level' is {value!r}; use a whole number from "
        f"{MIN_CONCURRENCY} to {MAX_CONCURRENCY} (integrator.io allows at most {MAX_CONCURRENCY} "
        "concurrent calls per account)."
    )
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise CeligoConfigError(problem)
    try:
        level = value if isinstance(value, int) else int(value) if isinstance(value, float) else int(str(value).strip())
    except ValueError:
        raise CeligoConfigError(problem) from None
    if not MIN_CONCURRENCY <= level <= MAX_CONCURRENCY:
        raise CeligoConfigError(problem)
    return level


def parse_number(name: str, value: Any, default: float, low: float, high: float) -> float:
    """Return ``value`` as a number within ``[low, high]`` (``default`` when unset)."""
    if value is None:
        return default
    problem = f"Celigo connection extra {name!r} is {value!r}; use a number from {low:g} to {high:g}."
    if isinstance(value, bool):
        raise CeligoConfigError(problem)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CeligoConfigError(problem) from None
    if not low <= number <= high:
        raise CeligoConfigError(problem)
    return number


def parse_bool(name: str, value: Any, default: bool) -> bool:
    """Return a boolean extra; accepts true/false in the usual spellings."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise CeligoConfigError(f"Celigo connection extra {name!r} is {value!r}; use true or false.")


def is_loopback_host(host: str) -> bool:
    """Return True for localhost names and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_base_url(value: Any, region: str) -> str:
    """Return the API base URL: the region's, or a validated override ending in ``/v1``."""
    if value is None:
        return REGION_URLS[region]
    url = str(value).strip().rstrip("/")
    parts = urlsplit(url)
    shape = (
        f"Celigo connection extra 'base_url' is {value!r}; give a URL in the form of the region URLs, "
        "e.g. 'https://api.integrator.io/v1' or, for the local emulator, 'http://127.0.0.1:8765/v1'."
    )
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CeligoConfigError(shape)
    if not parts.path.endswith("/v1"):
        raise CeligoConfigError(shape + " The path must end with /v1.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise CeligoConfigError(shape + " Leave out query strings, fragments and credentials.")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise CeligoConfigError(
            f"Celigo connection extra 'base_url' is {value!r}: plain http is only allowed to loopback hosts "
            "(127.0.0.1, ::1, localhost), because the API token would travel unencrypted; use https."
        )
    return url


ConnectionLookup = Callable[[str], ConnectionLike]


def settings_from_connection(conn: ConnectionLike, lookup: ConnectionLookup | None = None) -> CeligoSettings:
    """Validate an Airflow connection and return its ``CeligoSettings``.

    ``lookup`` fetches another connection by id; it is needed only when the connection borrows its
    concurrency from a lender. Raises CeligoConfigError naming the bad field.
    """
    if conn.conn_type and conn.conn_type != CONN_TYPE:
        raise CeligoConfigError(
            f"Connection {conn.conn_id!r} has type {conn.conn_type!r}; the Celigo hook needs type 'celigo'."
        )
    extras = conn.extra_dejson or {}
    token = parse_token(conn.password)
    region = parse_region(read_extra(extras, "region"))
    base_url = parse_base_url(read_extra(extras, "base_url"), region)
    level = parse_concurrency_level(read_extra(extras, "concurrency_level"))
    owner, lender = conn.conn_id, read_extra(extras, "borrow_concurrency_from")
    if lender is not None:
        level = _lender_level(conn.conn_id, str(lender).strip(), lookup)
        owner = str(lender).strip()
    return CeligoSettings(
        conn_id=conn.conn_id,
        token=token,
        region=region,
        base_url=base_url,
        concurrency_level=level,
        concurrency_owner=owner,
        borrowed_from=owner if lender is not None else None,
        timeout=parse_number("timeout", read_extra(extras, "timeout"), DEFAULT_TIMEOUT, 1, 600),
        max_retries=int(parse_number("max_retries", read_extra(extras, "max_retries"), DEFAULT_MAX_RETRIES, 0, 20)),
        max_retry_wait=parse_number(
            "max_retry_wait", read_extra(extras, "max_retry_wait"), DEFAULT_MAX_RETRY_WAIT, 0, 900
        ),
        verify_ssl=parse_bool("verify_ssl", read_extra(extras, "verify_ssl"), True),
    )


def _lender_level(conn_id: str, lender_id: str, lookup: ConnectionLookup | None) -> int:
    """Return the concurrency level of the lender connection; refuse self-loans, chains and non-Celigo lenders."""
    if not lender_id:
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r}: extra 'borrow_concurrency_from' is empty; "
            "name another Celigo connection id or remove the field."
        )
    if lender_id == conn_id:
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r} borrows its concurrency from itself (a cycle); "
            "remove 'borrow_concurrency_from' or name another Celigo connection."
        )
    if lookup is None:
        raise CeligoConfigError(f"Celigo connection {conn_id!r}: cannot look up lender {lender_id!r}.")
    try:
        lender = lookup(lender_id)
    except CeligoConfigError:
        raise
    except Exception:
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r} borrows its concurrency from {lender_id!r}, which does not exist; "
            "create that connection or fix 'borrow_concurrency_from'."
        ) from None
    if (lender.conn_type or "") != CONN_TYPE:
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r} borrows its concurrency from {lender_id!r}, which has type "
            f"{lender.conn_type!r}, not 'celigo'; name a Celigo connection."
        )
    lender_extras = lender.extra_dejson or {}
    second = read_extra(lender_extras, "borrow_concurrency_from")
    if second is not None:
        kind = "a cycle" if str(second).strip() == conn_id else "a chain"
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r} borrows from {lender_id!r}, which itself borrows from "
            f"{str(second).strip()!r} ({kind}); borrow directly from the connection that owns the level."
        )
    return parse_concurrency_level(read_extra(lender_extras, "concurrency_level"))
