"""The Celigo connection's fields: reading, validating and explaining them.

Everything a hook needs from an Airflow connection is turned into one frozen ``CeligoSettings``.
Every bad value is refused with a ``CeligoConfigError`` naming the field, the value (never the token)
and what is accepted.
"""

from __future__ import annotations

import ipaddress
import os
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_celigo._connection_form import (
    CONN_FIELDS,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
    MIN_CONCURRENCY,
)
from airflow_provider_celigo.exceptions import CeligoConfigError

__all__ = [
    "CONN_TYPE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_CONN_ID",
    "MAX_CONCURRENCY",
    "MIN_CONCURRENCY",
    "REGIONS",
    "REGION_UI_URLS",
    "REGION_URLS",
    "CeligoSettings",
    "ConnectionLike",
    "Region",
    "check_extra_keys",
    "parse_base_url",
    "pool_name_for",
    "read_extra",
    "settings_from_connection",
]

CONN_TYPE = "celigo"
DEFAULT_CONN_ID = "celigo_default"


@dataclass(frozen=True)
class Region:
    """One integrator.io region: its name, the API's base URL and the web UI's URL (for links)."""

    name: str
    api_url: str
    ui_url: str


# API hosts: NA and EU from Celigo's API docs, AU and CA from Celigo's 2026 API reference
# (celigo/ai mcp/resources/api-reference.md). No source names the AU and CA web UI hosts; they follow the EU pattern.
REGIONS: dict[str, Region] = {
    "na": Region("North America", "https://api.integrator.io/v1", "https://integrator.io"),
    "eu": Region("Europe", "https://api.eu.integrator.io/v1", "https://eu.integrator.io"),
    "au": Region("Australia", "https://api.au.integrator.io/v1", "https://au.integrator.io"),
    "ca": Region("Canada", "https://api.ca.integrator.io/v1", "https://ca.integrator.io"),
}
REGION_URLS: dict[str, str] = {key: region.api_url for key, region in REGIONS.items()}
REGION_UI_URLS: dict[str, str] = {key: region.ui_url for key, region in REGIONS.items()}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
#: The prefix older connection forms put before every extra field (``extra__celigo__region``).
EXTRA_PREFIX = f"extra__{CONN_TYPE}__"
#: Airflow's environment secrets backend reads a connection from ``AIRFLOW_CONN_<ID upper-cased>``.
ENV_CONN_PREFIX = "AIRFLOW_CONN_"
#: Every extra the connection reads: the fields of the connection form.
KNOWN_EXTRAS: tuple[str, ...] = tuple(CONN_FIELDS)


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
    """Return the pool name for a Celigo connection id, e.g. ``celigo_celigo_default`` (see ``canonical_conn_id``)."""
    return f"celigo_{canonical_conn_id(conn_id)}"


def canonical_conn_id(conn_id: str) -> str:
    """Return the spelling of a connection id that every spelling naming the same connection shares.

    Airflow looks a connection id up in its secrets backends in order: a custom backend, environment
    variables, the metadata DB. The environment backend reads ``AIRFLOW_CONN_<ID upper-cased>``, so while
    that variable exists every letter case of the id names that one connection: the id is then lower-cased
    (as ``airflow-celigo pools sync`` names env connections). The metadata DB compares ids exactly (case
    matters on PostgreSQL and SQLite), so any other id is returned as it is.
    """
    return conn_id.lower() if os.environ.get(ENV_CONN_PREFIX + conn_id.upper()) else conn_id


def read_extra(extras: Mapping[str, Any], name: str) -> Any:
    """Return an extra by its plain name or the ``extra__celigo__`` prefixed name of older UIs.

    Returns None when neither is set or both are ``None``/``""`` (what connection forms store for empty fields).
    """
    if not isinstance(extras, Mapping):
        return None  # check_extra_keys explains that the extra must be a JSON object
    value = extras.get(name)
    if value is None or (isinstance(value, str) and value == ""):
        value = extras.get(f"{EXTRA_PREFIX}{name}")
    return None if isinstance(value, str) and value == "" else value


def _field_of(key: str) -> str:
    """Return the field an extra key names: ``region`` for ``region`` and for ``extra__celigo__region``."""
    return key[len(EXTRA_PREFIX) :] if key.startswith(EXTRA_PREFIX) else key


def _closest_field(key: str) -> str | None:
    """Return the known field closest to an unknown key (difflib), or None when nothing is close."""
    text = key.strip().lower()
    if text.startswith("extra__"):
        text = text.rsplit("__", 1)[-1]  # extra__celigo_regoin, extra__http__region -> the field part
    import difflib  # only when a name is wrong: keeps DAG parsing light

    close = difflib.get_close_matches(text, KNOWN_EXTRAS, n=1, cutoff=0.6)
    return close[0] if close else None


def check_extra_keys(extras: Mapping[str, Any], conn_id: str) -> None:
    """Refuse extras that are not fields of the Celigo connection; returns None when all are known.

    Accepts each field by its plain name and by its ``extra__celigo__`` prefixed name, whatever the value
    (forms store ``null`` or ``""`` for empty fields). Raises CeligoConfigError naming every unknown key,
    the closest known field and the known fields; values are never shown (an unknown key may hold a secret).
    """
    if not isinstance(extras, Mapping):
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r} has an extra that is a JSON {type(extras).__name__}, not an object; "
            'write the extra as a JSON object, e.g. {"region": "eu", "concurrency_level": 5}.'
        )
    unknown = [str(key) for key in extras if not isinstance(key, str) or _field_of(key) not in KNOWN_EXTRAS]
    if not unknown:
        return
    described = []
    for key in unknown:
        close = _closest_field(key)
        described.append(f"{key!r} (did you mean {close!r}?)" if close else repr(key))
    noun = "an unknown extra" if len(unknown) == 1 else "unknown extras"
    raise CeligoConfigError(
        f"Celigo connection {conn_id!r} has {noun} {', '.join(described)}, which the provider would ignore; "
        f"rename or remove {'it' if len(unknown) == 1 else 'them'}. Known extras: {', '.join(KNOWN_EXTRAS)} "
        f"(each also accepted as '{EXTRA_PREFIX}<name>')."
    )


def region_choices() -> str:
    """Return the regions for messages and forms: ``na = North America (api.integrator.io), eu = ...``."""
    return ", ".join(f"{key} = {region.name} ({region.api_url.split('/')[2]})" for key, region in REGIONS.items())


def parse_region(value: Any) -> str:
    """Return ``na``, ``eu``, ``au`` or ``ca``; raises CeligoConfigError for anything else."""
    if value is None:
        return "na"
    region = str(value).strip().lower()
    if region not in REGION_URLS:
        raise CeligoConfigError(
            f"Celigo connection extra 'region' is {value!r}; use one of {list(REGION_URLS)} "
            f"({region_choices()}; case and surrounding spaces do not matter)."
        )
    return region


def parse_token(value: Any) -> str:
    """Return the API token from the connection's password, without surrounding whitespace.

    Raises CeligoConfigError when it is empty or holds whitespace, an invisible or a non-ASCII character (which
    no HTTP header can carry); the message gives the character's position, never the token.
    """
    token = "" if value is None else str(value).strip()
    if not token:
        raise CeligoConfigError(
            "Celigo connection has no API token: put the integrator.io API token in the connection's "
            "password field (Admin > Connections, or the 'password' key of AIRFLOW_CONN_<ID>)."
        )
    for position, char in enumerate(token, start=1):
        if char.isspace():
            kind = "whitespace"
        elif not char.isprintable():
            kind = "an invisible (control or formatting) character"
        elif not char.isascii():
            kind = "a non-ASCII character"
        else:
            continue
        raise CeligoConfigError(
            f"Celigo connection's API token contains {kind}{_invisible_code(char)} at position {position}; "
            "integrator.io tokens are plain ASCII letters and digits, and an HTTP header cannot carry it. "
            "Copy the token again from integrator.io (Resources > API tokens) and paste it alone into the "
            "password field."
        )
    return token


def _invisible_code(char: str) -> str:
    """Return `` (U+200B ZERO WIDTH SPACE)`` for an invisible character, ``""`` for a visible one.

    A visible character of the password field is never shown: the field may hold a real password by mistake.
    """
    if char.isprintable() and not char.isspace():
        return ""
    name = unicodedata.name(char, "")
    return f" (U+{ord(char):04X}{' ' + name if name else ''})"


def parse_concurrency_level(value: Any) -> int:
    """Return a concurrency level in 1..25; raises CeligoConfigError otherwise.

    The range is the provider's choice for its client-side cap. No source gives integrator.io a per-account
    limit on concurrent API calls: its API is rate limited (a leaky bucket of 1000 requests refilled at 300/s).
    25 is, by coincidence, the licensed maximum of a *connection's* ``concurrencyLevel`` toward its application.
    """
    if value is None:
        return DEFAULT_CONCURRENCY
    problem = (
        f"Celigo connection extra 'concurrency_level' is {value!r}; use a whole number from "
        f"{MIN_CONCURRENCY} to {MAX_CONCURRENCY}: the provider's own cap on calls in flight from Airflow to the "
        "account (integrator.io itself limits requests with a rate limit, not a concurrency limit)."
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


def redact_url(text: str) -> str:
    """Return ``text`` with any ``user:password@`` part replaced by ``***@`` (everything up to the last ``@``)."""
    if "@" not in text:
        return text
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"


def parse_base_url(value: Any, region: str) -> str:
    """Return the API base URL: the region's, or a validated override ending in ``/v1``.

    Raises CeligoConfigError for another shape, credentials in the URL or plain http to a remote host; the
    messages show the URL with any credentials replaced by ``***``.
    """
    if value is None:
        return REGION_URLS[region]
    text = str(value)
    shown = redact_url(text)
    url = text.strip().rstrip("/")
    shape = (
        f"Celigo connection extra 'base_url' is {shown!r}; give a URL in the form of the region URLs, "
        "e.g. 'https://api.integrator.io/v1' or, for the local emulator, 'http://127.0.0.1:8765/v1'."
    )
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port  # .port raises ValueError for a port that is no number
    except ValueError:
        raise CeligoConfigError(
            shape + " It could not be parsed (check the brackets of an IPv6 host and the port)."
        ) from None
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise CeligoConfigError(
            f"Celigo connection extra 'base_url' is {shown!r}: it contains credentials ('user:password@'); remove "
            "them. The API token belongs in the connection's password field, and credentials in a URL end up in "
            "logs and error messages."
        )
    if parts.scheme not in {"http", "https"} or not hostname:
        raise CeligoConfigError(shape)
    if not parts.path.endswith("/v1"):
        raise CeligoConfigError(shape + " The path must end with /v1.")
    if parts.query or parts.fragment:
        raise CeligoConfigError(shape + " Leave out query strings and fragments.")
    if parts.scheme == "http" and not is_loopback_host(hostname):
        raise CeligoConfigError(
            f"Celigo connection extra 'base_url' is {shown!r}: plain http is only allowed to loopback hosts "
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
    check_extra_keys(extras, conn.conn_id)  # first: every read below assumes a mapping of known fields
    region = parse_region(read_extra(extras, "region"))
    base_url = parse_base_url(read_extra(extras, "base_url"), region)
    level = parse_concurrency_level(read_extra(extras, "concurrency_level"))
    owner, lender = canonical_conn_id(conn.conn_id), read_extra(extras, "borrow_concurrency_from")
    if lender is not None:
        level, owner = _lender_level(conn.conn_id, str(lender).strip(), lookup)
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


def _lender_level(conn_id: str, lender_id: str, lookup: ConnectionLookup | None) -> tuple[int, str]:
    """Return the lender's concurrency level and canonical id; refuse self-loans, chains and non-Celigo lenders.

    The id is the lender's own spelling when its backend returns one (a case-insensitive DB collation finds
    ``Prod`` for ``prod``), made canonical (``canonical_conn_id``), so that a borrower naming its lender in
    another letter case shares the lender's limiter and pool wherever Airflow resolves both to one connection.
    """
    if not lender_id:
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r}: extra 'borrow_concurrency_from' is empty; "
            "name another Celigo connection id or remove the field."
        )
    if canonical_conn_id(lender_id) == canonical_conn_id(conn_id):
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
    check_extra_keys(lender_extras, lender_id)
    second = read_extra(lender_extras, "borrow_concurrency_from")
    if second is not None:
        kind = "a cycle" if canonical_conn_id(str(second).strip()) == canonical_conn_id(conn_id) else "a chain"
        raise CeligoConfigError(
            f"Celigo connection {conn_id!r} borrows from {lender_id!r}, which itself borrows from "
            f"{str(second).strip()!r} ({kind}); borrow directly from the connection that owns the level."
        )
    own_id = getattr(lender, "conn_id", None)
    owner = own_id if isinstance(own_id, str) and own_id.lower() == lender_id.lower() else lender_id
    return parse_concurrency_level(read_extra(lender_extras, "concurrency_level")), canonical_conn_id(owner)
