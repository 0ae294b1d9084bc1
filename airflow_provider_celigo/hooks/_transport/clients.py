"""What every request carries: the User-Agent, the Bearer header, one TLS context; and keeping the token secret.

``redact`` is the one place that knows every form the token can take in something a server sends back:
as is, JSON-escaped (``\\/``, ``\\u002f``, ``\\"``), URL-encoded (``%2F``, ``quote_plus``) or as HTML character
references, each character in any of its forms. Every error or log text quoted from a body goes through it.
"""

from __future__ import annotations

import json
import platform
import re
import ssl
from functools import lru_cache
from typing import TypeVar
from urllib.parse import quote, quote_plus

from airflow_provider_celigo import __version__
from airflow_provider_celigo.connection import CeligoSettings

REDACTED = "***"
_JSON_SHORT_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_HTML_NAMED = {"&": "amp", '"': "quot", "'": "apos", "<": "lt", ">": "gt"}

Text = TypeVar("Text", str, bytes)


@lru_cache(maxsize=1)
def user_agent() -> str:
    """Return the User-Agent: provider, Airflow and Python versions."""
    try:
        from importlib.metadata import version

        airflow_version = version("apache-airflow")
    except Exception:
        airflow_version = "unknown"
    return f"airflow-provider-celigo/{__version__} apache-airflow/{airflow_version} python/{platform.python_version()}"


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """Return one verifying TLS context per process for the async clients.

    Building one loads the CA bundle (~0.8 MB of memory each); a triggerer watching many jobs shares it.
    """
    import httpx

    return httpx.create_ssl_context()


def auth_headers(settings: CeligoSettings) -> dict[str, str]:
    """Return the headers sent with every request (Bearer auth, JSON, User-Agent)."""
    return {
        "Authorization": f"Bearer {settings.token}",
        "Accept": "application/json",
        "User-Agent": user_agent(),
    }


def _any_case_hex(number: int, width: int) -> str:
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{number:0{width}x}")


def _char_forms(char: str) -> str:
    """Return a regex alternation matching one character of a secret in any of its encodings."""
    forms = [re.escape(char)]
    if char in _JSON_SHORT_ESCAPES:
        forms.append(re.escape("\\" + _JSON_SHORT_ESCAPES[char]))
    code = ord(char)
    if code <= 0xFFFF:
        forms.append(r"\\u" + _any_case_hex(code, 4))
    else:  # a JSON surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(r"\\u" + _any_case_hex(high, 4) + r"\\u" + _any_case_hex(low, 4))
    forms.append("".join("%" + _any_case_hex(byte, 2) for byte in char.encode("utf-8")))
    if char == " ":
        forms.append(r"\+")
    forms.append(f"&#0*{code};")
    forms.append("&#[xX]0*" + _any_case_hex(code, 1).lstrip("0") + ";")
    if char in _HTML_NAMED:
        forms.append(f"&{_HTML_NAMED[char]};")
    return "(?:" + "|".join(forms) + ")"


@lru_cache(maxsize=8)
def _secret_patterns(secret: str) -> tuple[re.Pattern[str], re.Pattern[bytes]]:
    pattern = "".join(_char_forms(char) for char in secret)
    return re.compile(pattern), re.compile(pattern.encode("utf-8"))


def redact(text: Text, secret: str) -> Text:
    """Return ``text`` (str or bytes) with every occurrence of ``secret``, in any encoding, replaced by ``***``.

    Matches the secret as is, JSON-escaped, URL-encoded and as HTML character references, also when only
    some of its characters are escaped. An empty secret leaves the text alone. Never raises.
    """
    if not secret or not text:
        return text
    text_pattern, bytes_pattern = _secret_patterns(secret)
    if isinstance(text, bytes):
        return bytes_pattern.sub(REDACTED.encode(), text)
    return text_pattern.sub(REDACTED, text)


def secret_forms(secret: str) -> list[str]:
    """Return the usual whole-string encodings of ``secret`` (as is, JSON-escaped, URL-encoded), without repeats."""
    escaped = json.dumps(secret, ensure_ascii=True)[1:-1]
    forms = [
        secret,
        escaped,
        escaped.replace("/", "\\/"),
        "".join(c if c.isalnum() else f"\\u{ord(c):04x}" for c in secret),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
    ]
    return list(dict.fromkeys(form for form in forms if form))


def mask_token(token: str) -> None:
    """Register the token, and its escaped and URL-encoded forms, with Airflow's secret masker (redacted from logs)."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow 2 layout
        from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]
    for form in secret_forms(token):
        mask_secret(form)
