"""Reading ``Link`` headers: integrator.io lists say where the next page is with ``rel="next"``."""

from __future__ import annotations

import re

_LINK_PART = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";,]+)"?""", re.IGNORECASE)


def next_link(header: str | None) -> str | None:
    """Return the URL marked ``rel="next"`` in a ``Link`` header, or None. Never raises."""
    if not header or not isinstance(header, str):
        return None
    for match in _LINK_PART.finditer(header):
        url, params = match.group(1).strip(), match.group(2)
        for rel in _REL.findall(params):
            if "next" in rel.lower().split():
                return url or None
    return None
