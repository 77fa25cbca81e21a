"""Request verifiers shared by the inbound routes: who is calling (behind trusted proxies), is it allowed,
and a body read with a hard size limit."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from fastapi import HTTPException, Request

from webhooks.settings import IpNetwork


def _in(address: str, networks: list[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request, trusted: list[IpNetwork]) -> str:
    peer = request.client.host if request.client else ""
    return forwarded_client(peer, request.headers.get("x-forwarded-for"), trusted)


def forwarded_client(peer: str, forwarded: str | None, trusted: list[IpNetwork]) -> str:
    """The peer's address; X-Forwarded-For is believed only when the peer is a trusted proxy, and then the
    rightmost address that is not itself a trusted proxy is the client."""
    if not forwarded or not _in(peer, trusted):
        return peer
    chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    for address in reversed(chain):
        if not _in(address, trusted):
            return address
    return chain[0] if chain else peer


def is_allowed(address: str, allow: list[IpNetwork]) -> bool:
    """An empty allow-list allows every caller."""
    return not allow or _in(address, allow)


def require_allowed(address: str, allow: list[IpNetwork]) -> None:
    if not is_allowed(address, allow):
        raise HTTPException(status_code=403, detail="forbidden")


async def read_limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail="body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail="body too large")
        chunks.append(chunk)
    return b"".join(chunks)


MAX_JSON_DEPTH = 32  # Telegram updates and the chat page's posts nest 5 deep at most


def load_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses nesting deeper than `max_depth` with ValueError before parsing: the C parser
    recurses per level, so `[[[[…` fifty thousand deep raises RecursionError (a 500) instead of a clear 400."""
    if body.count(b"[") + body.count(b"{") > max_depth and _depth(body) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth}")
    return json.loads(body)


def _depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, strings skipped: one linear pass."""
    deepest = depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest
