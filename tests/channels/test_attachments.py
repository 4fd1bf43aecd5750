"""Photo uploads: type from the bytes, size limit, metadata stripped by re-encoding, stored
under the data dir, only the customer's own conversation (or staff) may fetch them, and they
travel with the message into the history and the staff view of the escalation."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from settings import Settings
from storage.tables_widget import Attachment
from tests.channels.widget_client import STAFF, say, widget_client
from tests.conftest import count_rows, fetch_rows

GPS_TAG = 0x8825
MAKE_TAG = 0x010F


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[MAKE_TAG] = "SecretCam"
    exif[GPS_TAG] = {1: "N", 2: (45.0, 31.0, 12.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Ada Byron, 12 Elm Street")
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 128, 0, 255)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with widget_client(settings, embedder, triager) as test_client:
        yield test_client


def conversation(client: TestClient) -> str:
    return str(client.post("/api/chat", json={"text": "hello"}).json()["conversation_id"])


def upload(
    client: TestClient,
    conversation_id: str | None,
    data: bytes,
    *,
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> Any:
    form = {"conversation_id": conversation_id} if conversation_id is not None else {}
    return client.post("/api/attachments", data=form, files={"file": (name, data, content_type)})


def stored(settings: Settings) -> int:
    return int(count_rows(settings, select(func.count()).select_from(Attachment)))


def files(settings: Settings) -> list[Path]:
    folder = settings.data_dir / "attachments"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_jpeg_is_stored_without_its_exif(client: TestClient, settings: Settings) -> None:
    original = jpeg_with_exif()
    assert b"SecretCam" in original and Image.open(io.BytesIO(original)).getexif()
    cid = conversation(client)
    response = upload(client, cid, original, name="IMG_0001.JPG")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == "image/jpeg"
    assert body["url"] == f"/api/attachments/{body['id']}?conversation_id={cid}"
    [path] = files(settings)
    saved = path.read_bytes()
    assert path.name == f"{body['id']}.jpg" and body["size"] == len(saved)
    assert b"SecretCam" not in saved and b"Exif" not in saved
    with Image.open(io.BytesIO(saved)) as image:
        assert image.size == (64, 48) and not image.getexif()
        r, g, b = image.convert("RGB").getpixel((10, 10))  # type: ignore[misc]
        assert r > 150 and g < 80 and b < 80  # the pixels survive
    [row] = fetch_rows(
        settings, select(Attachment.conversation_id, Attachment.sha256, Attachment.path)
    )
    assert row == (cid, hashlib.sha256(saved).hexdigest(), f"attachments/{path.name}")
    served = client.get(body["url"])
    assert served.status_code == 200 and served.content == saved
    assert served.headers["content-type"] == "image/jpeg"


def test_png_text_chunks_are_dropped(client: TestClient, settings: Settings) -> None:
    response = upload(client, conversation(client), png_with_text(), name="x.jpg")
    assert response.status_code == 201 and response.json()["content_type"] == "image/png"
    [path] = files(settings)
    assert b"Elm Street" not in path.read_bytes() and path.suffix == ".png"


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (b"%PDF-1.7 not a photo", "photo.jpg", "image/jpeg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "p.png", "image/png"),
        (b"GIF89a" + b"\x00" * 50, "p.gif", "image/gif"),
        (jpeg_with_exif()[:200], "cut.jpg", "image/jpeg"),  # a JPEG cut short
    ],
)
def test_what_is_not_a_photo_is_415_and_nothing_is_kept(
    client: TestClient, settings: Settings, data: bytes, name: str, content_type: str
) -> None:
    response = upload(client, conversation(client), data, name=name, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_type"
    assert stored(settings) == 0 and files(settings) == []


def test_too_large_is_413(settings: Settings, embedder: Any, triager: Any) -> None:
    small = settings.model_copy(update={"max_attachment_bytes": 1000})
    with widget_client(small, embedder, triager) as client:
        response = upload(client, conversation(client), jpeg_with_exif() + b"\x00" * 1000)
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "too_large", "message": "Photos are limited to 1,000 bytes."}
    }
    assert stored(settings) == 0 and files(settings) == []


def test_no_conversation_is_400(client: TestClient, settings: Settings) -> None:
    for cid in (None, "", "does-not-exist"):
        response = upload(client, cid, jpeg_with_exif())
        assert response.status_code == 400, cid
        assert response.json()["error"]["code"] == "no_conversation"
    assert stored(settings) == 0 and files(settings) == []


def test_no_file_is_a_400_in_the_error_format(client: TestClient) -> None:
    response = client.post("/api/attachments", data={"conversation_id": conversation(client)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_only_the_own_conversation_or_staff_may_fetch(client: TestClient) -> None:
    cid = conversation(client)
    other = conversation(client)
    body = upload(client, cid, jpeg_with_exif()).json()
    path = f"/api/attachments/{body['id']}"
    assert client.get(f"{path}?conversation_id={other}").status_code == 404
    assert client.get(path).status_code == 400  # the conversation id is required
    assert client.get(f"/api/staff/attachments/{body['id']}").status_code == 401
    staff = client.get(f"/api/staff/attachments/{body['id']}", headers=STAFF)
    assert staff.status_code == 200 and staff.content == client.get(body["url"]).content


def test_uploads_are_rate_limited_per_ip(client: TestClient, settings: Settings) -> None:
    from channels.attachments import UPLOADS_PER_IP_PER_MIN

    cid = conversation(client)
    statuses = [
        upload(client, cid, png_with_text()).status_code for _ in range(UPLOADS_PER_IP_PER_MIN + 1)
    ]
    assert statuses[:-1] == [201] * UPLOADS_PER_IP_PER_MIN
    assert statuses[-1] == 429
    assert stored(settings) == UPLOADS_PER_IP_PER_MIN


def test_photos_travel_with_the_message_to_history_and_to_staff(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        cid = say(ws, "hello")[0]["conversation_id"]
        photo = upload(client, cid, jpeg_with_exif()).json()
        stranger = upload(client, conversation(client), jpeg_with_exif()).json()
        # a photo of another conversation: refused, nothing stored
        refused = say(ws, "the box", attachments=[stranger["id"]], client_id="x")
        assert refused[-1]["code"] == "bad_attachment"
        frames = say(ws, "my parcel arrived damaged, I want a person", attachments=[photo["id"]])
        message_id = next(f["message_id"] for f in frames if f["type"] == "ack")
        assert any(f["type"] == "escalated" for f in frames)
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "resume", "conversation_id": cid})
        history = ws.receive_json()["messages"]
    texts = [m["text"] for m in history]
    assert "the box" not in texts
    damaged = next(m for m in history if m["id"] == message_id)
    assert damaged["attachments"] == [
        {"id": photo["id"], "url": photo["url"], "content_type": "image/jpeg"}
    ]
    detail = client.get(f"/api/staff/conversations/{cid}", headers=STAFF).json()
    assert [(a["id"], a["message_id"]) for a in detail["attachments"]] == [
        (photo["id"], message_id)
    ]
    assert detail["escalation"]["attachments"] == detail["attachments"]
    assert detail["attachments"][0]["url"] == f"/api/staff/attachments/{photo['id']}"
    queue = client.get("/api/staff/queue", headers=STAFF).json()
    listed = next(e for e in queue if e["conversation_id"] == cid)
    assert [a["id"] for a in listed["attachments"]] == [photo["id"]]


def test_at_most_three_photos_a_message(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        say(ws, "hello")
        error = say(ws, "four", attachments=["a", "b", "c", "d"])[-1]
    assert (error["type"], error["code"]) == ("error", "invalid_frame")
