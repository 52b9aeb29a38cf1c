"""URLs with query parameters added."""

from urllib.parse import urlencode, urlsplit, urlunsplit


def with_query(url: str, extra: dict[str, str]) -> str:
    """`url` with `extra` appended to its query (what it had is kept)."""
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(extra)]))
    return urlunsplit(parts._replace(query=query))
