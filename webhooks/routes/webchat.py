"""The local chat page: `GET /chat`, its static files, the JSON API under /chat/api/ and the login link.

Every route answers 404 while HESABU_WEB_CHAT is off. The API needs the signed chat cookie (401 without it)
and, for posts, a JSON body: a cross-site form cannot send one, so the SameSite=Lax cookie is not enough to
forge a message. The simulator routes exist in development only.
"""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi import Path as FastPath
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError, field_validator

from bot.assistant.catalogue import Lang, lang_of
from bot.assistant.page_labels import page_labels
from bot.channels.web import COOKIE, WebChannel
from bot.logs import get_logger
from bot.storage.businesses import business_language, shortcodes_of
from bot.storage.chats import chat_language
from bot.storage.db import unit_of_work
from bot.storage.invoices import invoices_to_pay
from bot.storage.tables import BusinessRow
from bot.storage.web_chat import message_file, messages_since
from webhooks.deps import ServicesDep, load_json, read_limited_body
from webhooks.dev.simulator import SimulatedPayment, morning_burst, post_payment

router = APIRouter()
log = get_logger("webchat.routes")
STATIC = Path(__file__).resolve().parent.parent / "static"
STATIC_FILES = {"chat.css": "text/css", "chat.js": "text/javascript"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
MAX_POST_BYTES = 16 * 1024
MAX_TEXT_CHARS = 2000
MAX_ID = 2**63 - 1  # the largest id a BIGINT column holds
Body = TypeVar("Body", bound=BaseModel)


def web_chat(svc: ServicesDep) -> WebChannel:
    web = svc.web
    if web is None:
        raise HTTPException(status_code=404, detail="not found")
    return web


WebDep = Annotated[WebChannel, Depends(web_chat)]


def chat_id(request: Request, web: WebDep) -> str:
    found = web.chat_of(request.cookies.get(COOKIE))
    if found is None:
        raise HTTPException(status_code=401, detail="open /chat first")
    return found


ChatDep = Annotated[str, Depends(chat_id)]


def _page(name: str, replacements: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    text = (STATIC / name).read_text(encoding="utf-8")
    for key, value in (replacements or {}).items():
        text = text.replace("{{" + key + "}}", html.escape(value))
    return HTMLResponse(text, status_code=status, headers={"Content-Security-Policy": CSP,
                                                           "Cache-Control": "no-store",
                                                           "Referrer-Policy": "no-referrer"})


def _with_cookie(response: Response, web: WebChannel, chat: str) -> Response:
    response.set_cookie(COOKIE, web.cookie_for(chat), max_age=400 * 24 * 3600, httponly=True, samesite="lax",
                        secure=web.secure_cookie, path="/chat")
    return response


async def _json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(status_code=415, detail="send JSON")
    body = await read_limited_body(request, MAX_POST_BYTES)
    try:
        data = load_json(body or b"{}")
    except ValueError as exc:
        raise HTTPException(status_code=400, detail="not JSON") from exc
    if not isinstance(data, dict):
        raise HTTPException(status_code=400, detail="send a JSON object")
    return data


# --- the page -------------------------------------------------------------------------------------------
@router.get("/chat", response_model=None)
async def chat_page(request: Request, web: WebDep) -> Response:
    await web.ready_for_visitors()
    chat = web.chat_of(request.cookies.get(COOKIE))
    if chat is not None:
        return _page("chat.html")
    if web.demo is None:  # production: a login link first
        return _page("login.html", {"code": "", "error": ""})
    chat = await asyncio.to_thread(web.new_demo_chat)
    return _with_cookie(_page("chat.html"), web, chat)


@router.get("/chat/static/{name}")
async def chat_static(name: str, _web: WebDep) -> FileResponse:
    mime = STATIC_FILES.get(name)
    if mime is None:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(STATIC / name, media_type=mime, headers={"Cache-Control": "no-cache"})


@router.get("/chat/login/{code}")
async def login_page(code: str, _web: WebDep) -> HTMLResponse:
    """A page with a button, not a redemption: link previews fetch URLs and must not spend the code."""
    return _page("login.html", {"code": code[:32], "error": ""})


@router.post("/chat/login", response_model=None)
async def login(request: Request, web: WebDep) -> Response:
    body = await read_limited_body(request, 2048)
    code = (parse_qs(body.decode("utf-8", "replace")).get("code") or [""])[0].strip()
    chat, why = await asyncio.to_thread(web.redeem, web.chat_of(request.cookies.get(COOKIE)), code)
    if chat is None:
        log.info("webchat.login_refused")
        return _page("login.html", {"code": "", "error": why}, status=400)
    web.join_outbox()
    return _with_cookie(RedirectResponse("/chat", status_code=303), web, chat)


# --- the JSON API ---------------------------------------------------------------------------------------
class SendBody(BaseModel):
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    choice: str | None = Field(default=None, max_length=64)
    message_ref: str | None = Field(default=None, max_length=19, pattern=r"^[0-9]+$")
    id: str | None = Field(default=None, max_length=64)  # the page's id for this post: a retry is answered once

    @field_validator("text", "choice", "id")
    @classmethod
    def _encodable(cls, value: str | None) -> str | None:
        """A lone surrogate (`"\\ud800"` is valid JSON) cannot be stored or sent: refuse it here."""
        if value is not None:
            value.encode("utf-8")  # UnicodeEncodeError is a ValueError: pydantic reports it as invalid
        return value


def _validated(model: type[Body], data: dict[str, Any]) -> Body:
    """The body as `model`, or 422 with what was wrong: a bad post is the caller's mistake, never a 500."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(status_code=422, detail=[e["msg"] for e in exc.errors()][:5]) from exc


def page_language(session: Any, chat: str, business_id: int | None) -> Lang:
    """The page speaks the chat's language: chosen or read from its first messages, else the business's."""
    chosen = chat_language(session, "web", chat)
    if chosen in ("en", "sw"):
        return lang_of(chosen)
    business = session.get(BusinessRow, business_id) if business_id else None
    return business_language(business.settings_json) if business is not None else "en"


@router.get("/chat/api/session")
async def session_info(web: WebDep, chat: ChatDep) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with unit_of_work(web.engine) as session:
            business = web.current_business(session, chat)
            invoices = invoices_to_pay(session, business.business_id, 1) if business and web.simulator else []
            labels = page_labels(page_language(session, chat, business.business_id if business else None))
        first = invoices[0] if invoices else None
        return {"business": business.name if business else None, "simulator": web.simulator, "labels": labels,
                "example": {"amount": f"{first.open_balance:.2f}", "ref": first.number, "name": first.customer,
                            "phone": first.phone} if first else None}

    return await asyncio.to_thread(read)


@router.get("/chat/api/messages")
async def messages(web: WebDep, chat: ChatDep, since: str | None = None) -> dict[str, Any]:
    after = None
    if since:
        try:
            after = datetime.fromisoformat(since)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="since is an ISO time") from exc
        if after.tzinfo is None:
            raise HTTPException(status_code=400, detail="since needs a zone")

    def read() -> tuple[datetime, list[Any]]:
        now = datetime.now(UTC)
        with unit_of_work(web.engine) as session:
            return now, messages_since(session, chat, after)

    now, found = await asyncio.to_thread(read)
    return {"now": now.isoformat(), "messages": [
        {"id": m.id, "direction": m.direction, "text": m.text, "choices": [{"label": lb, "data": d}
                                                                          for lb, d in m.choices],
         "picture": m.picture, "document": m.document_name, "at": m.created_at.isoformat(),
         "updated": m.updated_at.isoformat()} for m in found]}


@router.post("/chat/api/send")
async def send(request: Request, web: WebDep, chat: ChatDep) -> dict[str, bool]:
    body = _validated(SendBody, await _json_body(request))
    if not body.text.strip() and not body.choice:
        raise HTTPException(status_code=400, detail="say something")
    await asyncio.to_thread(web.handle, chat, body.text.strip() if not body.choice else "", body.choice,
                            body.message_ref, body.id)
    return {"ok": True}


@router.get("/chat/api/files/{message_id}/{kind}")
async def message_files(message_id: Annotated[int, FastPath(ge=1, le=MAX_ID)], kind: str, web: WebDep,
                        chat: ChatDep) -> Response:
    def read() -> Any:
        with unit_of_work(web.engine) as session:
            return message_file(session, chat, message_id, kind)

    found = await asyncio.to_thread(read)
    if found is None:
        raise HTTPException(status_code=404, detail="not found")
    disposition = "inline" if kind == "picture" else f'attachment; filename="{found.filename}"'
    return Response(found.content, media_type=found.mime,
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, max-age=3600"})


# --- the payment simulator (development) ----------------------------------------------------------------
class PaymentBody(BaseModel):
    amount: str = Field(max_length=20)
    ref: str = Field(default="", max_length=40)
    name: str = Field(default="", max_length=80)
    phone: str = Field(default="", max_length=20)


def _payer(web: WebChannel, chat: str) -> tuple[str, str, int, str]:
    """(token, shortcode, business id, timezone) of the business this chat works on; 409 when none."""
    with unit_of_work(web.engine) as session:
        business = web.current_business(session, chat)
        row = session.get(BusinessRow, business.business_id) if business else None
        codes = shortcodes_of(session, row.id or 0) if row else []
    if row is None or not codes:
        raise HTTPException(status_code=409, detail="this chat is not working on a business")
    return row.callback_token, codes[0], row.id or 0, row.timezone


def _base_url(request: Request) -> str:
    """HESABU_PUBLIC_URL when it was set, else the origin this page was loaded from (it reaches this server)."""
    settings = request.app.state.services.settings
    if "public_url" in settings.model_fields_set:
        return str(settings.public_url)
    return str(request.base_url)


async def _post(web: WebChannel, request: Request, chat: str, payments: list[SimulatedPayment]) -> list[dict[str, Any]]:
    token, shortcode, _, _ = await asyncio.to_thread(_payer, web, chat)
    posted = []
    async with httpx.AsyncClient(transport=request.app.state.services.simulator_transport) as client:
        for payment in payments:
            try:
                result = await post_payment(client, _base_url(request), token, shortcode, payment)
            except httpx.HTTPError as exc:
                log.warning("webchat.simulate_failed", error=type(exc).__name__)
                raise HTTPException(status_code=502, detail="could not reach this server's callback URL") from exc
            posted.append({"trans_id": result.trans_id, "status": result.status, "amount": f"{payment.amount:.2f}",
                           "ref": payment.ref})
    return posted


def _simulator(web: WebChannel) -> WebChannel:
    if not web.simulator:
        raise HTTPException(status_code=404, detail="not found")
    return web


@router.post("/chat/api/simulate")
async def simulate(request: Request, web: WebDep, chat: ChatDep) -> JSONResponse:
    _simulator(web)
    body = _validated(PaymentBody, await _json_body(request))
    try:
        amount = Decimal(body.amount.replace(",", "").strip())
    except InvalidOperation:
        amount = Decimal(0)
    if not amount.is_finite() or not Decimal("1") <= amount <= Decimal("250000"):
        raise HTTPException(status_code=400, detail="an M-Pesa amount is 1 to 250,000")
    payment = SimulatedPayment(amount.quantize(Decimal("0.01")), body.ref.strip(), body.name.strip() or "John Doe",
                               body.phone.strip() or "0708374149", datetime.now(UTC))
    return JSONResponse({"posted": await _post(web, request, chat, [payment])})


@router.post("/chat/api/simulate/burst")
async def simulate_burst(request: Request, web: WebDep, chat: ChatDep) -> JSONResponse:
    _simulator(web)
    await _json_body(request)
    _, _, business_id, timezone = await asyncio.to_thread(_payer, web, chat)

    def open_invoices() -> list[Any]:
        with unit_of_work(web.engine) as session:
            return invoices_to_pay(session, business_id, 8)

    invoices = await asyncio.to_thread(open_invoices)
    payments = morning_burst(invoices, datetime.now(ZoneInfo(timezone)))
    return JSONResponse({"posted": await _post(web, request, chat, payments)})
