"""HTTP routes of the customer channel: POST /api/chat, health, the widget assets."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from channels.rates import rate_limited_response, too_fast
from channels.summary import collect, turn_json
from channels.websocket import ChatSession
from errors import ProtocolError
from knowledge.articles_http import article_url
from web.deps import ServicesDep, get_services  # noqa: F401  (re-exported for older imports)
from web.static import FAVICON_SVG, static_response

router = APIRouter()

_STATUS = {"conversation_not_found": 404, "message_too_long": 413}


class ChatRequest(BaseModel):
    text: str = Field(max_length=100_000)
    conversation_id: str | None = Field(default=None, max_length=100)
    client_id: str | None = Field(default=None, max_length=100)


@router.post("/api/chat")
async def chat(body: ChatRequest, request: Request, services: ServicesDep) -> JSONResponse:
    ip = services.rates.client_ip(request)
    verdict = await services.rates.message(ip)
    if not verdict.allowed:  # refused before anything is stored
        return rate_limited_response(verdict, too_fast(verdict))
    try:
        result = await collect(
            services.runner.run_turn(
                text=body.text,
                channel="api",
                conversation_id=body.conversation_id,
                client_id=body.client_id,
                client_ip=ip,
            )
        )
    except ProtocolError as exc:
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}},
            status_code=_STATUS.get(exc.code, 400),
        )
    data = turn_json(result)
    for citation in data["citations"]:  # the article's page, as on the socket
        citation["url"] = article_url(services.settings, citation["id"])
    return JSONResponse(data)


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    await ChatSession(websocket, websocket.app.state.services).serve()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, bool] = {}
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        checks["database"] = False
    try:
        checks["store"] = bool(await services.store.ping())
    except Exception:
        checks["store"] = False
    try:
        checks["knowledge"] = bool(await asyncio.to_thread(services.knowledge.ping))
    except Exception:
        checks["knowledge"] = False
    checks["model"] = services.model is not None
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/widget.js")
async def widget_js(request: Request) -> Response:
    from widget import bundle

    return static_response(request, bundle(), "text/javascript; charset=utf-8")


@router.get("/widget.css")
async def widget_css(request: Request) -> Response:
    from widget import asset

    return static_response(request, asset("widget.css"), "text/css; charset=utf-8")


@router.get("/favicon.ico")
async def favicon(request: Request) -> Response:
    return static_response(request, FAVICON_SVG, "image/svg+xml")


@router.get("/", response_class=HTMLResponse)
async def storefront(services: ServicesDep) -> Response:
    if not services.settings.demo:
        return JSONResponse({"service": "support-agent"})
    from widget import asset

    return HTMLResponse(asset("storefront.html"))
