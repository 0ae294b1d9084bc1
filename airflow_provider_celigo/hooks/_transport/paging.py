"""Following pages: ``Link: rel="next"`` headers, and stopping a server that links pages in a circle or forever.

integrator.io lists say where the next page is with ``rel="next"`` (``/jobs`` pages by ``createdAt_lte``
windows, a step's errors by ``nextPageURL``). ``PageTrail`` remembers which pages one listing has read: a
page asked for twice (the same URL, whatever the order or escaping of its query, or the same cursor) stops
the listing with ``paging_cycle``, and more than ``MAX_PAGES`` pages with ``paging_limit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_celigo.exceptions import CeligoApiError

MAX_PAGES = 10_000

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


def page_key(url: str, params: Mapping[str, Any] | None = None) -> Hashable:
    """Return what identifies the page at ``url`` (plus query ``params``): the same for the same page however
    its query is ordered or escaped. Never raises."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for name, value in (params or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((str(name), str(item)) for item in values if item is not None)
    return (parts.scheme.lower(), parts.netloc.lower(), parts.path, tuple(sorted(pairs)))


class PageTrail:
    """The pages one listing has asked for, to stop it on a repeated page and after ``max_pages`` pages.

    ``path`` (no query) names the listing in errors; ``describe`` turns a cursor into text for a message
    and must leave out anything secret (a query string, a token).
    """

    def __init__(
        self,
        *,
        path: str,
        describe: Callable[[Any], str] = str,
        method: str = "GET",
        max_pages: int | None = None,
    ) -> None:
        self.path = path
        self.method = method
        self.describe = describe
        self.max_pages = MAX_PAGES if max_pages is None else max_pages
        self._pages: dict[Hashable, int] = {}

    @property
    def pages(self) -> int:
        """How many pages the listing has asked for."""
        return len(self._pages)

    def enter(self, key: Hashable, cursor: Any, *, status: int = 200) -> None:
        """Record that the next page, identified by ``key`` (``cursor`` in messages), is about to be read.

        ``status`` is that of the answer that pointed at it. Raises CeligoApiError ``paging_cycle`` when the
        listing read that page already, ``paging_limit`` when it has read ``max_pages`` pages.
        """
        earlier = self._pages.get(key)
        if earlier is not None:
            raise CeligoApiError(
                status=status,
                method=self.method,
                path=self.path,
                code="paging_cycle",
                message=(
                    f"page {self.pages} of the listing points back to page {earlier} ({self.describe(cursor)}); "
                    "stopped instead of reading the same pages forever"
                ),
            )
        if self.pages >= self.max_pages:
            raise CeligoApiError(
                status=status,
                method=self.method,
                path=self.path,
                code="paging_limit",
                message=(
                    f"stopped after {self.max_pages} pages: the server keeps pointing at another page "
                    f"({self.describe(cursor)}); the provider reads at most {self.max_pages} pages of one listing"
                ),
            )
        self._pages[key] = self.pages + 1
