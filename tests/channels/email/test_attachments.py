"""Email attachments (issue #15): stored on the widget's `attachments` table and files, typed from
the bytes, images without EXIF, oversize and unknown types listed only, and the agent told."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from channels.email.parse import parse_email
from settings import Settings
from storage.tables import Message
from storage.tables_widget import Attachment
from tests.channels.email.conftest import Env

FIXTURES = Path(__file__).parent / "fixtures" / "attachments"


async def stored(env: Env) -> list[Attachment]:
    async with env.services.sessions() as session:
        return list(await session.scalars(select(Attachment).order_by(Attachment.content_type)))


async def customer_text(env: Env, conversation_id: str) -> str:
    async with env.services.sessions() as session:
        return str(
            await session.scalar(
                select(Message.text).where(
                    Message.conversation_id == conversation_id, Message.role == "customer"
                )
            )
        )


async def test_a_photo_a_pdf_and_a_text_file_are_stored_and_linked(email_env: Env) -> None:
    raw = (FIXTURES / "photo-pdf-text.eml").read_bytes()
    photo = parse_email(raw, max_bytes=1 << 20).attachments[0]
    assert photo.filename == "IMG_2041.jpg" and b"SecretCam" in photo.data  # EXIF as sent
    outcome = await email_env.channel.handle(raw)
    assert outcome.conversation_id is not None
    rows = await stored(email_env)
    assert [r.content_type for r in rows] == ["application/pdf", "image/jpeg", "text/plain"]
    async with email_env.services.sessions() as session:
        message_id = await session.scalar(
            select(Message.id).where(
                Message.conversation_id == outcome.conversation_id, Message.role == "customer"
            )
        )
    data_dir = email_env.services.settings.data_dir
    for row in rows:
        assert row.conversation_id == outcome.conversation_id
        assert row.message_id == message_id  # linked to the customer's message
        path = data_dir / row.path
        assert path.is_file() and path.stat().st_size == row.size
    pdf, jpeg, text = (data_dir / r.path for r in rows)
    assert pdf.read_bytes().startswith(b"%PDF-1.4")
    assert text.read_bytes() == b"Order #2077, mug, blue.\nDamaged on arrival.\n"
    blob = jpeg.read_bytes()
    assert b"SecretCam" not in blob
    with Image.open(io.BytesIO(blob)) as image:
        assert image.size == (64, 48) and not image.getexif()
    said = await customer_text(email_env, outcome.conversation_id)
    assert "(attached: IMG_2041.jpg, receipt.pdf, notes.txt)" in said


async def test_staff_see_the_mails_attachments_with_the_conversation(email_env: Env) -> None:
    from channels.attachment_files import for_conversations

    outcome = await email_env.channel.handle((FIXTURES / "photo-pdf-text.eml").read_bytes())
    cid = outcome.conversation_id
    async with email_env.services.sessions() as session:
        listed = await for_conversations(session, [cid], email_env.services.settings)
    assert sorted(a["content_type"] for a in listed[cid]) == [
        "application/pdf",
        "image/jpeg",
        "text/plain",
    ]
    assert all(a["url"].endswith(f"/api/staff/attachments/{a['id']}") for a in listed[cid])


async def test_a_disguised_executable_and_an_archive_are_listed_not_stored(
    email_env: Env,
) -> None:
    outcome = await email_env.channel.handle((FIXTURES / "disguised-executable.eml").read_bytes())
    assert await stored(email_env) == []
    folder = email_env.services.settings.data_dir / "attachments"
    assert not folder.exists() or list(folder.iterdir()) == []
    said = await customer_text(email_env, outcome.conversation_id)
    assert (
        "(not kept: invoice.pdf (file type not accepted), photos.zip (file type not accepted))"
        in said
    )


async def test_over_the_limits_listed_not_stored_and_the_agent_told(
    make_services: Any, email_settings: Settings, smtp_sink: Any
) -> None:
    from channels.email.inbound import EmailChannel

    settings = email_settings.model_copy(
        update={"email_attachment_max_bytes": 5000, "email_attachments_max_total": 6000}
    )
    env = Env(await make_services(settings=settings), None, smtp_sink)
    env.channel = EmailChannel(env.services)
    outcome = await env.channel.handle((FIXTURES / "oversize.eml").read_bytes())
    rows = await stored(env)
    assert [r.content_type for r in rows] == ["image/jpeg"]  # the 10 KB log is not kept
    files = list((settings.data_dir / "attachments").iterdir())
    assert [f.name for f in files] == [Path(rows[0].path).name]
    said = await customer_text(env, outcome.conversation_id)
    assert "attached: label.jpg; not kept: tracking-log.txt (over the size limit)" in said

    # past the per-mail total: the second file is refused even though each is small
    tight = settings.model_copy(
        update={"email_attachment_max_bytes": 20_000, "email_attachments_max_total": 10_500}
    )
    env2 = Env(await make_services(settings=tight), None, smtp_sink)
    env2.channel = EmailChannel(env2.services)
    raw = (FIXTURES / "oversize.eml").read_bytes().replace(b"att-big@", b"att-big2@")
    second = await env2.channel.handle(raw)
    said = await customer_text(env2, second.conversation_id)
    assert "attached: tracking-log.txt; not kept: label.jpg (over the limit for one email)" in said


async def test_a_suppressed_robot_mail_keeps_no_attachment(email_env: Env) -> None:
    raw = (FIXTURES / "photo-pdf-text.eml").read_bytes()
    robot = raw.replace(b"Subject: Broken mug", b"Auto-Submitted: auto-generated\nSubject: Broken")
    outcome = await email_env.channel.handle(robot)
    assert outcome.action == "suppress"
    assert await stored(email_env) == []
