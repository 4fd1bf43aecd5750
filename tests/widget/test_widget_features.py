"""Widget features against a scripted socket (tests/widget/fake_shop.py): rich and safe replies,
quick replies and suggested questions, the rating form, photos, signed login, locales, options."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.widget.fake_shop import (
    CONVERSATION,
    FakeChat,
    default_reply,
    open_shop,
    reply_frame,
    wait_for_frames,
)

pytestmark = pytest.mark.browser

RICH = (
    "Your order **#2077** has shipped.\n\n"
    "- Track it: https://track.example.com/1Z999?ref=shop\n"
    "- Return label: [download the label](https://shop.example/labels/77.pdf)\n"
    "- [click me](javascript:steal) and [data](data:text/html,hi) stay text\n\n"
    "| Method | Cost |\n| --- | --- |\n| Standard | $5 |\n| Express | $15 |"
)


def open_panel(page: Page) -> None:
    page.locator("support-chat .launcher").click()
    expect(page.locator("support-chat .panel")).to_be_visible()


def say(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Your message")
    box.fill(text)
    box.press("Enter")


def test_rich_reply_renders_lists_tables_and_only_http_links(page: Page) -> None:
    chat = open_shop(page)
    chat.on_message = lambda f: default_reply(
        f,
        RICH,
        citations=[
            {
                "id": "shipping#costs",
                "title": "Shipping costs",
                "source": "shipping.md",
                "url": "/help/articles/shipping",
            },
            {
                "id": "x",
                "title": "Bad link",
                "source": "javascript:alert(2)",
                "url": "javascript:alert(3)",
            },
        ],
    )
    open_panel(page)
    say(page, "Where is order 2077?")
    body = page.locator("support-chat .msg.assistant .body").last
    expect(body.locator("strong")).to_have_text("#2077")
    expect(body.locator("ul > li")).to_have_count(3)
    expect(body.locator("table th")).to_have_text(["Method", "Cost"])
    expect(body.locator("table td")).to_have_text(["Standard", "$5", "Express", "$15"])

    links = body.locator("a")
    expect(links).to_have_count(2)  # the tracking URL and the label; javascript:/data: are text
    assert links.evaluate_all("as => as.map(a => a.href)") == [
        "https://track.example.com/1Z999?ref=shop",
        "https://shop.example/labels/77.pdf",
    ]
    for i in range(2):
        assert links.nth(i).get_attribute("target") == "_blank"
        assert {"noopener", "noreferrer"} <= set(links.nth(i).get_attribute("rel").split())
    expect(body).to_contain_text("click me and data stay text")

    chips = page.locator("support-chat .msg.assistant .sources .chip")
    expect(chips).to_have_count(2)
    assert chips.nth(0).evaluate("e => e.tagName") == "A"
    assert chips.nth(0).get_attribute("href") == "http://shop.test/help/articles/shipping"
    assert chips.nth(0).get_attribute("rel") == "noopener noreferrer"
    assert chips.nth(1).evaluate("e => e.tagName") == "SPAN"  # a javascript: url is no link


def test_tables_read_as_lists_on_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    chat = open_shop(page)
    chat.on_message = lambda f: default_reply(f, RICH)
    open_panel(page)
    say(page, "shipping?")
    cells = page.locator("support-chat .msg.assistant table td")
    expect(cells).to_have_count(4)
    assert cells.first.evaluate("e => getComputedStyle(e).display") == "block"
    assert cells.first.evaluate("e => getComputedStyle(e, '::before').content") == '"Method: "'
    assert (
        page.locator("support-chat .msg.assistant thead").evaluate(
            "e => getComputedStyle(e).display"
        )
        == "none"
    )


def test_quick_replies_send_their_text_and_go_away(page: Page) -> None:
    chat = open_shop(page)
    chat.on_message = lambda f: default_reply(
        f, "I can start a return for the boots. Shall I go ahead?", quick_replies=["Yes", "No"]
    )
    open_panel(page)
    say(page, "return my boots")
    buttons = page.locator("support-chat .quick button")
    expect(buttons).to_have_text(["Yes", "No"])
    chat.on_message = lambda f: default_reply(f, "Done: return R-1 started.")
    buttons.first.click()
    frames = wait_for_frames(page, chat, "message", 2)
    assert frames[-1]["text"] == "Yes" and frames[-1]["client_id"]
    expect(page.locator("support-chat .msg.customer .body").last).to_have_text("Yes")
    expect(page.locator("support-chat .msg.assistant .body").last).to_have_text(
        "Done: return R-1 started."
    )
    expect(page.locator("support-chat .quick")).to_be_hidden()


def test_suggested_questions_on_open_localized_and_overridable(page: Page) -> None:
    chat = open_shop(page)
    open_panel(page)
    expect(page.locator("support-chat .quick button")).to_have_text(
        ["Where is my order?", "How do I return an item?", "How much is shipping?"]
    )
    page.locator("support-chat .quick button").nth(1).click()
    assert wait_for_frames(page, chat, "message")[0]["text"] == "How do I return an item?"
    expect(page.locator("support-chat .quick")).to_be_hidden()  # the reply has none

    other = page.context.new_page()
    open_shop(other, script_attrs='data-suggestions="Track a parcel | Size guide"')
    open_panel(other)
    expect(other.locator("support-chat .quick button")).to_have_text(
        ["Track a parcel", "Size guide"]
    )
    other.close()


@pytest.mark.parametrize(
    ("locale", "send", "placeholder", "greeting"),
    [
        ("es", "Enviar", "Escribe tu mensaje...", "¡Hola! ¿En qué podemos ayudarte hoy?"),
        (
            "fr",
            "Envoyer",
            "Écrivez votre message...",
            "Bonjour ! Comment pouvons-nous vous aider ?",
        ),
        ("de-AT", "Senden", "Nachricht eingeben...", "Hallo! Wie können wir Ihnen helfen?"),
        ("xx", "Send", "Type your message...", "Hi! How can we help you today?"),
    ],
)
def test_locale_strings(
    page: Page, locale: str, send: str, placeholder: str, greeting: str
) -> None:
    open_shop(page, script_attrs=f'data-locale="{locale}"')
    open_panel(page)
    expect(page.locator("support-chat .send")).to_have_text(send)
    expect(page.locator("support-chat textarea")).to_have_attribute("placeholder", placeholder)
    expect(page.locator("support-chat .msg.assistant .body").first).to_have_text(greeting)
    assert page.locator("support-chat .close").get_attribute("aria-label")


def test_init_sets_locale_colour_and_position(page: Page) -> None:
    open_shop(page)
    right = page.locator("support-chat .launcher").bounding_box()
    page.evaluate(
        "SupportAgent.init({locale: 'fr', color: '#ffd400', position: 'left', title: 'Boutique'})"
    )
    launcher = page.locator("support-chat .launcher")
    left = launcher.bounding_box()
    assert right and left and left["x"] < 100 < right["x"]
    assert launcher.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 212, 0)"
    # a light accent gets dark text, so the launcher stays readable
    assert launcher.evaluate("e => getComputedStyle(e).color") == "rgb(17, 24, 39)"
    open_panel(page)
    expect(page.locator("support-chat h2")).to_have_text("Boutique")
    expect(page.locator("support-chat .send")).to_have_text("Envoyer")
    expect(page.locator("support-chat .msg.assistant .body").first).to_have_text(
        "Bonjour ! Comment pouvons-nous vous aider ?"
    )


def test_csat_form_sends_score_and_comment(page: Page) -> None:
    chat = open_shop(page)
    open_panel(page)
    say(page, "thanks, all sorted")
    wait_for_frames(page, chat, "message")
    chat.push({"type": "csat_request", "conversation_id": CONVERSATION})
    scores = page.locator("support-chat .csat .score")
    expect(scores).to_have_count(5)
    assert scores.evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))") == [
        "1 - Very poor",
        "2 - Poor",
        "3 - OK",
        "4 - Good",
        "5 - Excellent",
    ]
    submit = page.locator("support-chat .csat .send")
    expect(submit).to_be_disabled()  # no score chosen yet
    scores.nth(3).click()
    expect(scores.nth(3)).to_have_attribute("aria-pressed", "true")
    page.locator("support-chat .csat textarea").fill("Quick and friendly")
    submit.click()
    assert wait_for_frames(page, chat, "csat") == [
        {"type": "csat", "score": 4, "comment": "Quick and friendly"}
    ]
    chat.push({"type": "csat_saved"})
    expect(page.locator("support-chat .csat")).to_have_text("Thank you for your feedback!")


def test_identity_token_goes_in_a_frame_never_the_url(page: Page) -> None:
    token = "cust_42.1764478800.abcdef"
    chat = open_shop(page, script_attrs=f'data-identity-token="{token}"')
    open_panel(page)
    assert wait_for_frames(page, chat, "identify") == [{"type": "identify", "token": token}]
    assert all(token not in url for url in chat.urls)
    chat.push({"type": "identified", "first_name": "Ana"})
    expect(page.locator("support-chat .notice")).to_have_text(["Signed in as Ana."])

    # A token handed over later (the shopper signs in) is sent on the open socket.
    page.evaluate("SupportAgent.init({identityToken: 'cust_7.1764478900.0123'})")
    assert wait_for_frames(page, chat, "identify", 2)[-1]["token"] == "cust_7.1764478900.0123"


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d6"
    "3b7a0000000049454e44ae426082"
)


def test_photo_upload_then_message_with_attachments(page: Page) -> None:
    chat = open_shop(page)
    uploads: list[dict[str, str]] = []

    def upload(route):  # type: ignore[no-untyped-def]
        request = route.request
        uploads.append({"type": request.headers["content-type"], "body": request.post_data_buffer})
        route.fulfill(
            status=201,
            content_type="application/json",
            body=json.dumps(
                {
                    "id": "att_1",
                    "content_type": "image/png",
                    "size": 68,
                    "url": f"/api/attachments/att_1?conversation_id={CONVERSATION}",
                }
            ),
        )

    page.route("http://shop.test/api/attachments", upload)
    open_panel(page)
    # No conversation yet: the upload would be refused, so the widget says what to do instead.
    page.locator("support-chat .attach").click()
    expect(page.locator("support-chat .notice")).to_have_text(
        ["Send a message first, then attach a photo."]
    )
    say(page, "My tent arrived torn")
    wait_for_frames(page, chat, "message")
    expect(page.locator("support-chat .msg.assistant")).to_have_count(2)

    page.locator("support-chat input[type=file]").set_input_files(
        {"name": "tear.png", "mimeType": "image/png", "buffer": PNG_1PX}
    )
    expect(page.locator("support-chat .tray img")).to_have_count(1)
    assert len(uploads) == 1 and uploads[0]["type"].startswith("multipart/form-data")
    assert b'name="conversation_id"\r\n\r\ncv_fake' in uploads[0]["body"]
    assert PNG_1PX in uploads[0]["body"]

    say(page, "Here is the tear")
    frame = wait_for_frames(page, chat, "message", 2)[-1]
    assert frame["text"] == "Here is the tear" and frame["attachments"] == ["att_1"]
    expect(page.locator("support-chat .msg.customer .photos img")).to_have_count(1)
    expect(page.locator("support-chat .tray")).to_be_hidden()


def test_history_shows_photos_from_the_server_only_over_http(page: Page) -> None:
    history = [
        {
            "id": "m1",
            "role": "customer",
            "text": "see photo",
            "citations": [],
            "created_at": "2026-11-30T05:00:00Z",
            "attachments": [
                {
                    "id": "a1",
                    "url": "/api/attachments/a1?conversation_id=cv_fake",
                    "content_type": "image/png",
                },
                {"id": "a2", "url": "javascript:alert(1)", "content_type": "image/png"},
            ],
        },
    ]
    page.add_init_script("localStorage.setItem('support-agent:conversation', 'cv_fake')")
    # the widget resumes the stored conversation; the fake server answers with this history
    chat = open_shop(page, chat=FakeChat(history=history))
    open_panel(page)
    assert chat.sent("resume") == [{"type": "resume", "conversation_id": CONVERSATION}]
    imgs = page.locator("support-chat .msg.customer .photos img")
    expect(imgs).to_have_count(1)
    assert (
        imgs.get_attribute("src") == "http://shop.test/api/attachments/a1?conversation_id=cv_fake"
    )


def test_reply_frames_keep_quick_replies_on_the_newest_only(page: Page) -> None:
    chat = open_shop(page)
    open_panel(page)
    say(page, "hi")
    wait_for_frames(page, chat, "message")
    chat.push(
        reply_frame("Shall I cancel?", None, id="s1", role="staff", quick_replies=["Yes", "No"])
    )
    expect(page.locator("support-chat .quick button")).to_have_count(2)
    chat.push(reply_frame("Actually, one moment.", None, id="s2", role="staff"))
    expect(page.locator("support-chat .quick")).to_be_hidden()


def test_a_rating_given_offline_is_sent_after_reconnecting(page: Page) -> None:
    chat = open_shop(page)
    open_panel(page)
    say(page, "thanks")
    wait_for_frames(page, chat, "message")
    chat.push({"type": "csat_request", "conversation_id": CONVERSATION})
    page.locator("support-chat .csat .score").nth(2).click()
    chat.sockets[-1].close()  # the server goes away before the customer presses Send
    expect(page.locator("support-chat .conn")).to_contain_text("Offline")
    page.locator("support-chat .csat .send").click()
    frames = wait_for_frames(page, chat, "csat")
    assert frames == [{"type": "csat", "score": 3}]
    assert len(chat.sockets) == 2
    # on the new socket the resume came first, so the rating lands in this conversation
    kinds = [f["type"] for f in chat.received]
    assert kinds.index("resume") < kinds.index("csat")
