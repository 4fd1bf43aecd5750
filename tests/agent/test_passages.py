"""Help-center answers quote what answers the question: the right sentence, list or table row of
the best passage, not the article's intro; lists and tables stay lists and tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agent.local.passages import answer, embed_cached, unit_texts, units_of, warm
from agent.local.replies import kb_reply
from markdown_safe import ListBlock, Table, parse

INTRO = {
    "id": "delivery-times.md#0",
    "title": "Delivery Times",
    "heading": "",
    "score": 0.55,
    "text": (
        "How long delivery takes depends on the shipping method you chose and where the parcel "
        "is going.\nAll times are in business days. This article explains the details."
    ),
}
TABLE = {
    "id": "delivery-times.md#3",
    "title": "Delivery Times",
    "heading": "International delivery times",
    "score": 0.62,
    "text": (
        "| Destination | Delivery after shipping |\n| --- | --- |\n"
        "| Canada | 5–10 business days |\n"
        "| United Kingdom and the European Union | 7–14 business days |\n"
        "| Australia, New Zealand and Japan | 8–16 business days |\n\n"
        "Customs checks can add a few days that the carrier does not count in its estimate."
    ),
}
LIST = {
    "id": "payment-methods.md#0",
    "title": "Payment Methods",
    "heading": "Accepted payment methods",
    "score": 0.55,
    "text": (
        "We accept:\n\n- Visa, Mastercard, American Express and Discover cards\n- PayPal\n"
        "- Apple Pay and Google Pay\n\nWe do not accept cash on delivery or checks."
    ),
}
GIFT = {
    "id": "gift-cards.md#1",
    "title": "Gift Cards",
    "heading": "Using a gift card",
    "score": 0.48,
    "text": (
        "Enter the 16-digit gift card number and PIN at checkout. If the order costs more than "
        "the balance, pay the rest with a card, PayPal, Apple Pay or Google Pay."
    ),
}


def test_units_are_sentences_items_and_rows() -> None:
    _, units = units_of(LIST["text"] + "\n\n" + TABLE["text"])
    kinds = [u.kind for u in units]
    assert kinds.count("item") == 3 and kinds.count("row") == 3
    assert "Canada" in next(u.plain for u in units if u.kind == "row")
    assert "Destination: Canada" in next(u.plain for u in units if u.kind == "row")


def test_the_table_row_that_answers_wins_over_the_intro(embedder: Any) -> None:
    found = answer("how long does shipping to canada take?", [INTRO, TABLE], embed=embedder.embed)
    assert found.passage_id == TABLE["id"]
    blocks = parse(found.text)
    assert len(blocks) == 1 and isinstance(blocks[0], Table)
    # the table is quoted whole (three rows): a partial one reads as if the rest did not exist
    assert ["Canada", "5–10 business days"] in blocks[0].rows and len(blocks[0].rows) == 3
    assert blocks[0].header == ["Destination", "Delivery after shipping"]


def test_a_list_comes_back_as_a_list_with_its_lead_in(embedder: Any) -> None:
    found = answer("do you take paypal?", [GIFT, LIST], embed=embedder.embed)
    assert found.passage_id == LIST["id"]
    blocks = parse(found.text)
    assert "We accept:" in found.text
    lists = [b for b in blocks if isinstance(b, ListBlock)]
    assert lists and "PayPal" in lists[0].items


RETURN_SHIPPING = {
    "id": "returns.md#5",
    "title": "Returns Policy",
    "heading": "Return shipping costs and restocking fees",
    "score": 0.63,
    "text": (
        "Returns from US addresses are free: we email you a prepaid return label. For returns "
        "from outside the US, you pay return shipping and choose the carrier; we recommend a "
        "tracked service.\n\nWe do not charge a restocking fee, except for opened electronics."
    ),
}


def test_the_rule_is_quoted_before_its_exception(embedder: Any) -> None:
    found = answer(
        "actually first, do I have to pay for return shipping?",
        [RETURN_SHIPPING],
        embed=embedder.embed,
    )
    assert found.text.startswith("Returns from US addresses are free")
    # the exception is kept only beside the rule, never instead of it
    asked = answer("I live in Canada, who pays return shipping?", [RETURN_SHIPPING], embed=None)
    assert "outside the US" in asked.text


def test_a_question_that_names_its_condition_gets_the_sentence_about_it(embedder: Any) -> None:
    """ "what happens if ..." is answered by a sentence about that "if", not the section whose
    plain sentence is closest ("Our returns team inspects your parcel ...")."""
    retrieved = [
        {
            "id": "delivery-times.md#5",
            "title": "Delivery Times",
            "heading": "My order is late or lost",
            "score": 0.528,
            "text": (
                "If tracking has not updated for 7 days, or your parcel has not arrived 5 "
                "business days after the estimated delivery date, contact us through the chat "
                "assistant or by email. We will open a trace with the carrier and, if the "
                "parcel is lost, send a replacement or give you a full refund, including "
                "shipping, at no cost to you."
            ),
        },
        {
            "id": "refunds.md#5",
            "title": "Refunds",
            "heading": "Refund for a lost or damaged parcel",
            "score": 0.542,
            "text": (
                "If a parcel is lost in transit or arrives damaged, you can choose a "
                "replacement or a full refund including shipping. See the delivery times "
                "article for lost parcels and the damaged and defective items article for "
                "damage."
            ),
        },
        {
            "id": "returns.md#7",
            "title": "Returns Policy",
            "heading": "What happens after you send it back",
            "score": 0.489,
            "text": (
                "Our returns team inspects your parcel within 3 business days after it arrives "
                "at our warehouse in Reno, Nevada. You get an email when the return is received "
                "and another when the refund is issued. See our refunds article for when the "
                "money reaches you."
            ),
        },
    ]
    found = answer(
        "what happens if my parcel gets lost in the mail?", retrieved, embed=embedder.embed
    )
    assert found.passage_id in ("delivery-times.md#5", "refunds.md#5")
    assert "replacement" in found.text


def test_the_passage_on_the_question_s_topic_wins_a_close_race(embedder: Any) -> None:
    """Two passages that quote alike: the one the retriever found on the question's topic
    (`topic`, the cosine of the intent distributions) is quoted, even ranked second."""
    other = {**GIFT, "id": "gift-cards.md#9", "topic": 0.1}
    on_topic = {**GIFT, "topic": 0.9}
    found = answer("how do I pay with a gift card?", [other, on_topic], embed=embedder.embed)
    assert found.passage_id == "gift-cards.md#1"
    # without topics the retriever's order decides the tie
    plain = [{k: v for k, v in p.items() if k != "topic"} for p in (other, on_topic)]
    assert answer("how do I pay with a gift card?", plain, embed=embedder.embed).passage_id == (
        "gift-cards.md#9"
    )


def test_sentences_about_the_article_are_not_quoted() -> None:
    found = answer("how long does delivery take?", [INTRO])
    assert "This article" not in found.text
    assert "depends on the shipping method" in found.text


def test_without_an_embedder_keywords_decide() -> None:
    found = answer("Canada delivery after shipping", [INTRO, TABLE])
    assert found.passage_id == TABLE["id"] and "Canada" in found.text


def test_kb_reply_cites_the_passage_it_quotes(embedder: Any) -> None:
    text, cited = kb_reply("how long to ship to Canada?", [INTRO, TABLE], embed=embedder.embed)
    assert cited == TABLE["id"]
    assert text.endswith("Source: Delivery Times — International delivery times")


def test_vectors_are_cached_per_embedder() -> None:
    class Counting:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def embed(self, texts: list[str]) -> np.ndarray:
            self.seen += texts
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    first, second = Counting(), Counting()
    embed_cached(first.embed, ["a", "b"])
    embed_cached(first.embed, ["b", "c", "a"])
    embed_cached(second.embed, ["a"])
    assert first.seen == ["a", "b", "c"] and second.seen == ["a"]


class Hashing:
    """A deterministic stand-in embedder that records what it was asked to embed."""

    model_id = "hashing/test"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for n, text in enumerate(texts):
            out[n, hash(text) % 8] = 1.0
        return out


def test_warming_embeds_every_unit_so_the_first_question_only_embeds_itself(
    tmp_path: Path,
) -> None:
    passages = [INTRO, TABLE, LIST]
    cold = Hashing()
    expected = {t for p in passages for t in unit_texts(p)}
    assert warm(cold.embed, passages, cache_dir=tmp_path) == len(set(cold.seen))
    assert expected <= set(cold.seen)  # every unit, read under its heading, and the labels
    before = len(cold.seen)
    reply = answer("how long does delivery take to Canada?", passages, embed=cold.embed)
    assert cold.seen[before:] == ["how long does delivery take to Canada?"]
    assert reply.passage_id in {p["id"] for p in passages}
    # another process (a worker after the warm-up child) reads the vectors from the file
    files = list(tmp_path.glob("passage-units-*.npy"))
    assert len(files) == 1
    worker = Hashing()
    assert warm(worker.embed, passages, cache_dir=tmp_path) == len(set(cold.seen[:before]))
    assert worker.seen == []
    np.testing.assert_array_equal(
        embed_cached(worker.embed, sorted(expected)), cold.embed(sorted(expected))
    )
    # a changed help center is embedded again, and the stale file goes
    edited = {**LIST, "text": LIST["text"] + "\n\nGift cards are accepted too."}
    again = Hashing()
    warm(again.embed, [INTRO, TABLE, edited], cache_dir=tmp_path)
    assert "Accepted payment methods: Gift cards are accepted too." in again.seen
    assert [f.name for f in tmp_path.glob("passage-units-*.npy")] != [files[0].name]
    assert len(list(tmp_path.glob("passage-units-*.npy"))) == 1


# What is quoted keeps what answers: a whole table or list, the how-to sentence of a request, and
# the figures that follow a "depends on" lead-in. Small passages, not the demo help center's text.
PRICES = {
    "id": "delivery-options.md#1",
    "title": "Delivery Options",
    "heading": "Delivery options and prices",
    "score": 0.6,
    "text": (
        "| Option | Price | Courier |\n| --- | --- | --- |\n"
        "| Economy | $4.50, free above $50 | Royal Mail |\n"
        "| Two-day | $11.00 | DPD |\n"
        "| Same day (London only) | $24.00 | Bike courier |\n\n"
        "One price per basket, shown before you pay."
    ),
}


def test_a_quoted_table_is_quoted_whole(embedder: Any) -> None:
    for question in ("what does delivery cost?", "how much is the cheapest delivery?"):
        found = answer(question, [PRICES], embed=embedder.embed)
        tables = [b for b in parse(found.text) if isinstance(b, Table)]
        assert tables, found.text
        assert tables[0].header == ["Option", "Price", "Courier"]
        assert [r[0] for r in tables[0].rows] == ["Economy", "Two-day", "Same day (London only)"]


def test_a_long_table_keeps_the_matching_rows_and_points_to_the_article() -> None:
    rows = "".join(f"| Town {n} | {n + 2} days |\n" for n in range(20))
    passage = {
        "id": "towns.md#0",
        "title": "Delivery by Town",
        "heading": "Days per town",
        "score": 0.5,
        "text": "| Town | Delivery |\n| --- | --- |\n" + rows,
    }
    found = answer("delivery to town 7", [passage])
    tables = [b for b in parse(found.text) if isinstance(b, Table)]
    assert tables and ["Town 7", "9 days"] in tables[0].rows
    assert len(tables[0].rows) < 20
    assert "Delivery by Town" in found.text  # where the other rows are


CLOSING = {
    "id": "profile.md#4",
    "title": "Your Profile",
    "heading": "Closing your profile and erasing your data",
    "score": 0.57,
    "text": (
        "Ask for closure under Settings > Security > Close profile, or write to "
        "erase@shop.example. We close the profile and erase your personal data within 14 days. "
        "We keep the invoices that the law makes us keep, for 10 years, and nothing more. Unused "
        "credit and loyalty stamps are gone once the profile is closed, so spend them first."
    ),
}


def test_a_request_keeps_the_sentence_that_says_how(embedder: Any) -> None:
    for question in (
        "close my profile and erase everything you have on me",
        "how do I get my profile closed?",
    ):
        found = answer(question, [CLOSING], embed=embedder.embed)
        assert "Settings > Security > Close profile" in found.text, (question, found.text)
    # a plain question about the rule does not need the how-to
    told = answer("how many years do you keep invoices?", [CLOSING], embed=embedder.embed)
    assert "10 years" in told.text


REPAIRS = {
    "id": "repairs.md#0",
    "title": "Repairs",
    "heading": "",
    "score": 0.6,
    "text": (
        "How long a repair takes depends on the product and on the workshop that fixes it, and "
        "our team keeps you posted by message at every step of the way. Bags and belts are back "
        "in 6 to 9 working days. Boots and shoes need 12 to 15 working days, because soles are "
        "glued and pressed. Jackets with a broken zip are back in 5 working days."
    ),
}
REPAIR_TABLE = {
    "id": "repairs.md#1",
    "title": "Repairs",
    "heading": "",
    "score": 0.6,
    "text": (
        "How long a repair takes depends on the product you send in.\n\n"
        "| Product | Repair time |\n| --- | --- |\n"
        "| Bags and belts | 6–9 working days |\n| Boots and shoes | 12–15 working days |\n"
    ),
}


def test_the_figures_after_a_depends_on_lead_in_are_kept(embedder: Any) -> None:
    found = answer("how long does a repair take?", [REPAIRS], embed=embedder.embed)
    assert "depends on the product" in found.text
    assert "6 to 9 working days" in found.text and "12 to 15 working days" in found.text
    tabled = answer("how long does a repair take?", [REPAIR_TABLE], embed=embedder.embed)
    assert "6–9 working days" in tabled.text and "12–15 working days" in tabled.text


def test_the_retrievers_order_counts_as_much_as_the_embedders_space_says() -> None:
    """Two passages alike but for the retriever's cosine and order: the fine-tuned model's rank
    bonus (its cosines are closer together) keeps the first one where MiniLM's lets the closer
    passage win."""
    from knowledge.embedder import MINILM_SPACE, SUPPORT_SPACE

    def embed(texts: list[str]) -> np.ndarray:
        return np.tile(np.eye(1, 8, 0, dtype=np.float32), (len(texts), 1))

    text = "Gift cards never expire and can be used on any order."
    first = {**GIFT, "id": "a#1", "text": text, "score": 0.4}
    closer = {**GIFT, "id": "b#1", "text": text, "score": 0.6}  # +0.08 after PASSAGE_WEIGHT
    assert answer("do gift cards expire", [first, closer], embed=embed).passage_id == "b#1"
    chosen = answer("do gift cards expire", [first, closer], embed=embed, space=MINILM_SPACE)
    assert chosen.passage_id == "b#1"
    chosen = answer("do gift cards expire", [first, closer], embed=embed, space=SUPPORT_SPACE)
    assert chosen.passage_id == "a#1"
