"""Request verifiers shared by the inbound routes: who is calling (behind trusted proxies), is it allowed,
and a body read with a hard size limit."""

from __future__ import annotations

import ipaddress

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
