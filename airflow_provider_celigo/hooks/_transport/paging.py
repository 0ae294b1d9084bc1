"""Following pages: ``Link: rel="next"`` headers, and stopping a server that links pages in a circle or forever.

integrator.io lists say where the next page is with ``rel="next"`` (``/jobs`` pages by ``createdAt_lte``
windows, a step's errors by ``nextPageURL``). ``PageTrail`` remembers which pages one listing has read: a
page asked for twice (the same URL, whatever the order or escaping of its query, or the same cursor) stops
the listing with ``paging_cycle``, more than ``MAX_PAGES`` pages with ``paging_limit``, and a next page on
another path than the listing's first page (another resource, another API prefix, ``.``/``..`` segments,
however escaped) with ``paging_off_path``: the token goes with every page, so a link must not walk elsewhere
on the API host (links to another host are refused before, by ``urls.build_url``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

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
        self._first_path: str | None = None

    @property
    def pages(self) -> int:
        """How many pages the listing has asked for."""
        return len(self._pages)

    def enter(self, key: Hashable, cursor: Any, *, status: int = 200) -> None:
        """Record that the next page, identified by ``key`` (``cursor`` in messages), is about to be read.

        ``status`` is that of the answer that pointed at it. Raises CeligoApiError ``paging_cycle`` when the
        listing read that page already, ``paging_limit`` when it has read ``max_pages`` pages.
        """
        self._check_path(key, status)
        earlier = self._pages.get(key)
        if earlier is not None:
            raise self._refusal(
                status,
                "paging_cycle",
                f"page {self.pages} of the listing points back to page {earlier} ({self.describe(cursor)}); "
                "stopped instead of reading the same pages forever",
            )
        if self.pages >= self.max_pages:
            raise self._refusal(
                status,
                "paging_limit",
                f"stopped after {self.max_pages} pages: the server keeps pointing at another page "
                f"({self.describe(cursor)}); the provider reads at most {self.max_pages} pages of one listing",
            )
        self._pages[key] = self.pages + 1

    def _check_path(self, key: Hashable, status: int) -> None:
        """Raise CeligoApiError ``paging_off_path`` when a ``page_key`` key leaves the first page's path."""
        if not (isinstance(key, tuple) and len(key) == 4 and isinstance(key[2], str)):
            return  # a cursor (``/jobs`` windows), not a URL
        path = unquote(key[2])
        segments = path.split("/")
        if self._first_path is None:
            self._first_path = path
            return
        if path != self._first_path or any(segment in (".", "..") for segment in segments):
            shown = path if len(path) <= 200 else path[:200] + "..."
            raise self._refusal(
                status,
                "paging_off_path",
                f"the next page points at {shown!r}, not at this listing's path {self._first_path!r}; "
                "refused to follow it, since the API token would be sent to another resource",
            )

    def _refusal(self, status: int, code: str, message: str) -> CeligoApiError:
        """Return the error that stops this listing (``code`` names why)."""
        return CeligoApiError(status=status, method=self.method, path=self.path, code=code, message=message)
