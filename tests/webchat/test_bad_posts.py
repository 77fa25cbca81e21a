"""The chat page's API answers a bad post with 4xx, never a 500: text too long, not a string, a lone surrogate,
JSON nested fifty thousand deep, a message id too large for its column."""

from __future__ import annotations

import pytest

from tests.webchat.test_web_chat import web_service

pytestmark = pytest.mark.anyio
DEEP = b'{"text": ' + b"[" * 7000 + b"]" * 7000 + b"}"  # deep, but inside the 16 KiB post limit


@pytest.mark.parametrize("body", [
    b'{"text": "' + b"x" * 2001 + b'"}', b'{"text": 12}', b'{"text": ["/help"]}', b'{"text": "\\ud800"}',
    b'{"choice": "\\udfff"}', b'{"text": "/help", "message_ref": "99999999999999999999999"}', DEEP,
], ids=["long", "number", "list", "surrogate", "surrogate-choice", "huge-ref", "deep"])
async def test_a_bad_post_is_refused_with_4xx(db_url, tmp_path, body) -> None:
    async with web_service(db_url, tmp_path) as svc:
        await svc.client.get("/chat")
        response = await svc.client.post("/chat/api/send", content=body, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, response.text
        ok = await svc.client.post("/chat/api/send", json={"text": "/help"})
        assert ok.status_code == 200  # and the chat still works


async def test_a_huge_message_id_is_not_found_not_an_error(db_url, tmp_path) -> None:
    async with web_service(db_url, tmp_path) as svc:
        await svc.client.get("/chat")
        response = await svc.client.get("/chat/api/files/99999999999999999999999/picture")
        assert response.status_code == 422
        assert (await svc.client.get("/chat/api/files/9223372036854775807/picture")).status_code == 404
