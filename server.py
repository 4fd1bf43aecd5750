"""The FastAPI app factory. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from channels.attachments import router as attachments_router
from channels.http import router as chat_router
from console.admin import router as staff_admin_router
from console.api import router as staff_router
from console.features import ROUTERS as console_feature_routers
from console.knowledge import router as knowledge_router
from console.login import router as staff_login_router
from console.metrics import router as metrics_router
from console.pages import router as console_pages_router
from console.staff import router as conversations_router
from console.webhooks import router as webhooks_router
from knowledge.articles_http import router as articles_router
from services import Services, build_services
from settings import Settings
from web.hardening import app_options, harden

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    *,
    build: Callable[[], Awaitable[Services]] | None = None,
) -> FastAPI:
    """`services` given: the caller owns them. Otherwise they are built at startup (by `build`,
    or from `settings` or the environment) in the server's event loop, and closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        if services is not None:
            app.state.services = services
        elif build is not None:
            app.state.services = await build()
        else:
            app.state.services = await build_services(config)
        if owned:
            app.state.services.start_background()
        try:
            yield
        finally:
            if owned:
                await app.state.services.close()

    # the guards need the settings now; the services may only be built at startup
    config = settings or (services.settings if services is not None else Settings())
    if settings is None and services is None and build is None:
        # a worker process started by `serve --workers N` (uvicorn's factory): its own logging
        from logs import configure_logging

        configure_logging(config.log_level)
    app = FastAPI(title="support-agent", version="0.1.0", lifespan=lifespan, **app_options(config))
    harden(app, config)
    app.include_router(chat_router)
    app.include_router(staff_login_router)  # staff sign-in, sign-out, me
    app.include_router(staff_admin_router)  # staff accounts and settings (admins)
    app.include_router(staff_router)
    app.include_router(conversations_router)
    for router in console_feature_routers:  # queue, conversation view, notes, replies, ...
        app.include_router(router)
    app.include_router(webhooks_router)
    from channels.email.mailgun import router as mailgun_router

    app.include_router(mailgun_router)  # the email channel's Mailgun inbound route
    app.include_router(knowledge_router)
    app.include_router(metrics_router)
    app.include_router(attachments_router)
    app.include_router(articles_router)
    from notifications.http import router as notifications_router

    app.include_router(notifications_router)  # opt-out pages, staff notification counts
    app.include_router(console_pages_router)  # the staff console page, /console
    return app
