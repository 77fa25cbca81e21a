"""The callback URL shape, in one place: the paths Daraja posts to, as the middleware matches them and as the
command line and the simulator print and post them. Every path is lowercase and free of the words Safaricom
refuses (`mpesa`, `exe`, `sql`, …); a token is lowercase hex."""

from __future__ import annotations

import re

# source name -> path template; the source is the journal's `source` column
CALLBACK_PATHS = {
    "c2b_validation": "/c2b/{token}/validation",
    "c2b_confirmation": "/c2b/{token}/confirmation",
    "stk": "/stk/{token}/callback",
}
_LABELS = {"c2b_validation": "validation", "c2b_confirmation": "confirmation", "stk": "stk_callback"}
_PATH = re.compile(r"^/(?:(c2b)/([^/]+)/(validation|confirmation)|(stk)/([^/]+)/callback)$")


def match_callback_path(path: str) -> tuple[str, str] | None:
    """(source, token) for a callback path, else None."""
    found = _PATH.match(path)
    if found is None:
        return None
    if found.group(4):
        return "stk", found.group(5)
    return f"c2b_{found.group(3)}", found.group(2)


def callback_url(public_url: str, token: str, source: str) -> str:
    return public_url.rstrip("/") + CALLBACK_PATHS[source].format(token=token)


def callback_urls(public_url: str, token: str) -> dict[str, str]:
    """The URLs `hesabu business add` prints, by label (validation, confirmation, stk_callback)."""
    return {_LABELS[source]: callback_url(public_url, token, source) for source in CALLBACK_PATHS}
