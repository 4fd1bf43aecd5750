"""HTTP routes of notifications: the one-click opt-out pages and the staff counts.

GET  /notifications/opt-out?h=&t=   a confirmation page with one button (changes nothing:
                                    mail scanners fetch links)
POST /notifications/opt-out?h=&t=   records the opt-out (the button, or a mail client's
                                    RFC 8058 one-click `List-Unsubscribe=One-Click`)
GET  /api/staff/notifications/stats sent, skipped and deferred by reason, opt-outs"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from console.auth import Staff
from notifications.optout import OPTOUT_PATH, record_optout, verify
from storage.tables_notify import Notification, NotificationOptOut, NotificationStatus
from web.deps import ServicesDep

router = APIRouter()

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto;">
<h1 style="font-size: 1.4rem">{title}</h1>
<p>{text}</p>{form}
</body></html>"""


def _page(title: str, text: str, form: str = "", status: int = 200) -> HTMLResponse:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text), form=form)
    return HTMLResponse(body, status_code=status)


def _invalid() -> HTMLResponse:
    return _page(
        "This link is not valid",
        "The unsubscribe link is incomplete or was changed. Use the link from the latest "
        "email, or reply to it and ask us to stop the updates.",
        status=400,
    )


@router.get(OPTOUT_PATH)
async def optout_page(services: ServicesDep, h: str = "", t: str = "") -> HTMLResponse:
    settings = services.settings
    if not verify(h, t, settings):
        return _invalid()
    action = html.escape(f"{OPTOUT_PATH}?h={h}&t={t}", quote=True)
    form = (
        f'<form method="post" action="{action}">'
        '<button type="submit" style="font-size: 1rem; padding: .5rem 1rem">'
        "Unsubscribe</button></form>"
    )
    return _page(
        f"Stop order updates from {settings.store_name}?",
        "You will no longer get emails or texts about your orders' shipping and delivery. "
        "You can still write to us any time.",
        form,
    )


@router.post(OPTOUT_PATH)
async def optout(services: ServicesDep, h: str = "", t: str = "") -> HTMLResponse:
    settings = services.settings
    if not verify(h, t, settings):
        return _invalid()
    async with services.sessions.begin() as session:
        await record_optout(session, h, source="link")
    return _page(
        "You're unsubscribed",
        f"{settings.store_name} will send you no more order updates. If this was a mistake, "
        "reply to any of our emails and we'll turn them back on.",
    )


@router.get("/api/staff/notifications/stats")
async def stats(services: ServicesDep, _staff: Staff) -> dict[str, Any]:
    async with services.sessions() as session:
        rows = (
            await session.execute(
                select(Notification.status, Notification.reason, func.count()).group_by(
                    Notification.status, Notification.reason
                )
            )
        ).all()
        opted_out = await session.scalar(select(func.count()).select_from(NotificationOptOut))
    sent = 0
    skipped: dict[str, int] = {}
    waiting: dict[str, int] = {}
    for status, reason, count in rows:
        if status == NotificationStatus.SENT:
            sent += int(count)
        elif status == NotificationStatus.SKIPPED:
            skipped[reason or "other"] = skipped.get(reason or "other", 0) + int(count)
        else:
            waiting[reason or "due"] = waiting.get(reason or "due", 0) + int(count)
    return {
        "sent": sent,
        "skipped": skipped,
        "pending": waiting,
        "opted_out": int(opted_out or 0),
        "skipped_opted_out": skipped.get("opted_out", 0),
    }
