"""Help-center answers that quote what answers the question, not the article's intro.

The retrieved passages are cut into units (sentences, list items, table rows); each unit is
scored against the question with the embedding and with keyword overlap; the passage with the
best unit wins, and the answer keeps that unit and those of the same passage that score almost as
well, in the order they are written, with what they need to be read right: a list or table whole
(safe Markdown, `markdown_safe`), the how-to sentence when asked how, the figures a "depends on"
lead-in announces."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.local.passage_vectors import Embed, embed_cached, keep
from knowledge.embedder import MINILM_SPACE, SUPPORT_SPACE
from knowledge.lexical import analyse
from markdown_safe import ListBlock, Paragraph, Table, parse

# how many retrieved passages compete: all the search returns (kb_top_k). With three, the
# answering section retrieved 4th was never quoted ("whats your customer service email?" ->
# "Contact: Email", "do I pay shipping on an exchange?" -> "Free exchanges"); the section scores
# below (passage cosine, heading fit) choose among them, the fused rank only nudges. The four
# weights were chosen together on the help-center scenarios (evals/scenarios, 33 of 34 answers).
PASSAGES = 4
MARGIN = 0.07  # units within this of the best one are kept too
# Keyword overlap breaks ties and lifts exact terms ("Canada", "PO box"); the embedding decides
# the rest: at 0.35 "a warranty on jackets?" quoted the repairs paragraph that names both words.
KEYWORD_WEIGHT = 0.15
PASSAGE_WEIGHT = 0.4  # the retriever's own cosine for the whole passage
# how well the section's "title: heading" fits the question: "how do I return an item?" is
# answered by "How to start a return", though "Returning a gift" has the closer sentence
HEADING_WEIGHT = 0.5
# the retriever's order (it fuses dense and keyword scores over the whole passage): the first
# passage gets this much more than the last. Per embedding space, chosen on the answer-section dev
# eval (evals/retrieval/answers.py): the fine-tuned model's cosines are closer together, so the
# retriever's order counts more beside them (372 -> 373 of 421 at 0.1). Another model: MiniLM's.
RANK_BONUSES = {MINILM_SPACE: 0.05, SUPPORT_SPACE: 0.1}
# the retriever's topic cosine (the question's intent distribution against the passage's):
# "please remove me from your mailing list" is about marketing emails, not account deletion,
# whose sentence is closer; chosen on the retrieval sets' dev questions (the section the answer
# quotes: 357 -> 362 of 423 at 0.1, fewer at 0.05 and 0.2)
TOPIC_WEIGHT = 0.1
META_PENALTY = 0.2
# A sentence that opens on a condition ("If ...", "For returns from outside the US ...", "Unless
# ...") is the exception to the section's rule; the rule answers the plain question ("do I pay
# for return shipping?" -> "Returns from US addresses are free", not the outside-the-US clause).
# Not when the question states the condition itself: "If we sent the wrong item, ..." is the rule
# for "you sent me the wrong item", and the penalty had the final-sale section quoted instead.
CONDITION_PENALTY = 0.05
MAX_SENTENCES = 3
# A section whose prose is this short is quoted whole when it holds the best sentence: "how do
# reward points work?" needs "1 point per $1" as much as "100 points make a $5 reward".
SHORT_SECTION = 320
# A list or table this short is quoted whole once any of it is chosen (two of three price rows
# read as if the third did not exist); a longer one, its best MAX_ROWS and where the rest is.
WHOLE_LIST, MAX_ROWS = 12, 4

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(\[*_])")
_CONDITION = re.compile(
    r"^(if|unless|except|for (returns|orders|items|parcels|customers) (from|to|outside|in))\b",
    re.I,
)
# A question that names its own condition ("what happens if ...") is answered by the sentence
# about that condition: no CONDITION_PENALTY then.
_ASKS_IF = re.compile(r"(?i)\b(if|unless|in case|what happens)\b")
# What something costs ("do I have to pay for shipping if I exchange?", "is a return free?"):
# answered by a sentence that says a price or that it is free, not by the section whose heading
# shares the question's other words ("If the new size is out of stock" for "a different size")
_ASKS_COST = re.compile(
    r"(?i)\b(do|would|will|should|must) (i|we) (have to |need to )?pay\b"
    r"|\bhow much\b|\bis (it|that|this|there|shipping|postage|the \w+) (free|extra)\b"
    r"|\bfree\?|\b(any|a|extra) (charge|fee|cost)s?\b|\bwho pays\b|\bcosts? (anything|extra)\b"
)
_STATES_COST = re.compile(r"(?i)\bfree\b|[$€£]\s?\d|\b(costs?|charged?|fees?|pay|prices?)\b")
# chosen on the scenarios (faq-exchange-free, the one answer they missed); the answer-section
# dev eval (evals/retrieval/answers.py, 562 answers over four sets) is the same at 0, 0.04, 0.12
COST_WEIGHT = 0.12
# A conditional sentence's condition: from its opening word to the first comma or colon.
_CLAUSE = re.compile(r"^(?:\S+)\s+([^,;:]*)")
# Sentences about the article rather than the answer ("This article explains ...").
_META = re.compile(
    r"^(this (article|page|guide) (explains|lists|covers|describes)|see (our|the) )", re.I
)
# A question that asks how to do something or for an action ("how do I", "please", "I want to")
# gets the sentence that says how (it opens on a verb, names a path "Account > ...", an email
# address or a link) with the rule: the rule alone reads as if the action were done.
_ASKS_HOW = re.compile(
    r"(?i)\b(how (do|can|could|should|would) (i|we)|how to|where (do|can|should) (i|we)|please|"
    r"(can|could|would|will) you|i (want|need|wish|would like|'d like) to|help me)\b"
)
_QUESTION = re.compile(
    r"(?i)^(what|when|where|which|who|whose|why|how|is|are|was|were|do|does|did|can|could|will|"
    r"would|should|may|has|have|am|any)\b|\?$"
)
_HOW_TO = re.compile(
    r"(?i)^(go|e-?mail|write|call|phone|use|request|ask|contact|click|tap|open|select|choose|"
    r"enter|visit|sign|log|send|fill|start|follow|reply|message|chat|print|update|change|"
    r"unsubscribe|cancel|apply|add|remove)\b|\bgo to\b|\w > \w|\bby (e-?mail|call|phon|writ)|"
    r"[\w.+-]+@[\w-]+\.\w|https?://"
)
_DEPENDS = re.compile(r"(?i)\b(depends? on|depending on|var(y|ies) (by|with|between)|differs?)\b")
_FIGURE = re.compile(r"\d|\b(next|same|one|two|three|four|five|six|seven) (business |working )?day")


@dataclass(frozen=True)
class Unit:
    block: int
    kind: str  # "sentence" | "item" | "row"
    index: int
    text: str  # Markdown as written
    plain: str  # what is scored


@dataclass(frozen=True)
class Answer:
    text: str  # safe Markdown
    passage_id: str
    title: str
    heading: str


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def units_of(text: str) -> tuple[list[Any], list[Unit]]:
    blocks = parse(text)
    units: list[Unit] = []
    for b, block in enumerate(blocks):
        if isinstance(block, Paragraph) and not block.heading:
            for n, sentence in enumerate(sentences(" ".join(block.lines))):
                units.append(Unit(b, "sentence", n, sentence, sentence))
        elif isinstance(block, ListBlock):
            for n, item in enumerate(block.items):
                units.append(Unit(b, "item", n, item, item))
        elif isinstance(block, Table):
            for n, row in enumerate(block.rows):
                plain = ", ".join(f"{h}: {c}" for h, c in zip(block.header, row, strict=True))
                units.append(Unit(b, "row", n, "", plain))
    return blocks, units


# Question words that say nothing about the topic, on top of the retriever's stopwords.
_QUESTION_WORDS = {"what", "how", "when", "where", "why", "which", "who", "have", "is", "are"}


def question_terms(question: str) -> set[str]:
    return {w for w in analyse(question) if w not in _QUESTION_WORDS}


def _label(passage: Mapping[str, Any]) -> str:
    heading = str(passage.get("heading") or "")
    return f"{passage.get('title', '')}: {heading}" if heading else str(passage.get("title", ""))


def _overlap(question: set[str], text: str) -> float:
    if not question:
        return 0.0
    return len(question & set(analyse(text))) / len(question)


def unit_texts(passage: Mapping[str, Any]) -> list[str]:
    """What `score_units` embeds for a passage: each unit read under its section heading."""
    heading = passage.get("heading")
    _, units = units_of(str(passage.get("text", "")))
    return [f"{heading}: {u.plain}" if heading else u.plain for u in units]


def warm(
    embed: Embed,
    passages: Iterable[Mapping[str, Any]],
    *,
    cache_dir: Path | None = None,
    batch: int = 64,
) -> int:
    """Embeds every passage's units and label ahead of the first question (at start-up), so
    the first customer to ask about a section does not pay for it. With `cache_dir` the vectors
    are kept in a file named by a hash of the model and the texts: `serve --workers N` computes
    them once in its warm-up child and each worker reads them. Returns how many were cached."""
    texts: list[str] = []
    for passage in passages:
        texts += unit_texts(passage) + [_label(passage)]
    texts = list(dict.fromkeys(t for t in texts if t.strip()))
    if not texts:
        return 0
    return keep(embed, texts, cache_dir=cache_dir, batch=batch)


def warm_help_center(knowledge: Any, embed: Embed, cache_dir: Path | None = None) -> int:
    """`warm` over every stored chunk of the knowledge base, as the retriever returns them; and
    the retriever's index, built now rather than on the first question."""
    from knowledge.ranking import passage_title

    store = getattr(knowledge, "store", None)
    if store is None:  # a knowledge source without a store (tests' canned one)
        return 0
    # the retriever's own index (keyword index, in-memory vectors, sentence vectors) too
    retriever_warm = getattr(getattr(knowledge, "retriever", None), "warm", None)
    if retriever_warm is not None:
        retriever_warm()
    passages = (
        {"title": passage_title(c.metadata), "heading": c.metadata.get("heading"), "text": c.text}
        for c in store.iter_chunks()
    )
    return warm(embed, passages, cache_dir=cache_dir)


def answer(
    question: str,
    passages: Sequence[Mapping[str, Any]],
    *,
    embed: Embed | None = None,
    space: str | None = None,
) -> Answer:
    """The answer to `question` from the best of the first passages (best first, as retrieved);
    `space`: the vector space `embed` writes (its margins), when it is not MiniLM's."""
    rank_bonus = RANK_BONUSES.get(space or MINILM_SPACE, RANK_BONUSES[MINILM_SPACE])
    candidates = [p for p in passages[:PASSAGES] if str(p.get("text", "")).strip()]
    if not candidates:
        raise ValueError("no passage to answer from")
    parsed = [units_of(str(p["text"])) for p in candidates]
    scores, fit = score_units(question, candidates, [units for _, units in parsed], embed)
    ranked = [
        (float(own.max()) if own.size else -1.0)
        + PASSAGE_WEIGHT * float(passage.get("score", 0.0))
        + HEADING_WEIGHT * fit[n]
        + rank_bonus * (len(candidates) - 1 - n) / max(1, len(candidates) - 1)
        + TOPIC_WEIGHT * float(passage.get("topic") or 0.0)
        for n, (own, passage) in enumerate(zip(scores, candidates, strict=True))
    ]
    chosen = int(np.argmax(ranked))
    passage, (blocks, units) = candidates[chosen], parsed[chosen]
    text = (
        compose(blocks, units, scores[chosen], question=question, title=str(passage["title"]))
        if units
        else str(passage["text"]).strip()
    )
    return Answer(
        text, str(passage["id"]), str(passage["title"]), str(passage.get("heading") or "")
    )


def score_units(
    question: str,
    candidates: list[Mapping[str, Any]],
    units: list[list[Unit]],
    embed: Embed | None,
) -> tuple[list[np.ndarray], list[float]]:
    """Per passage, each unit's fit to the question; and each passage heading's fit."""
    words = question_terms(question)
    dense = embed is not None and bool(question.strip())
    weight = KEYWORD_WEIGHT if dense else 1.0  # without an embedder the keywords decide
    # a question that names its own condition ("what happens if my parcel gets lost?") is
    # answered by the sentence about that condition, not by the section's plain rule
    penalty = 0.0 if _ASKS_IF.search(question) else CONDITION_PENALTY
    cost = COST_WEIGHT if _ASKS_COST.search(question) else 0.0
    scores = [
        np.array(
            [
                weight * _overlap(words, f"{p.get('heading', '')} {u.plain}")
                - (META_PENALTY if _META.match(u.plain) else 0.0)
                - (penalty if u.kind == "sentence" and _exception(u.plain, words) else 0.0)
                + (cost if _STATES_COST.search(u.plain) else 0.0)
                for u in own
            ],
            dtype=np.float32,
        )
        for p, own in zip(candidates, units, strict=True)
    ]
    if embed is None or not dense:
        return scores, [0.0] * len(candidates)
    q = np.asarray(embed([question]), dtype=np.float32)[0]
    # each unit is read under its section heading: "Method: Standard, Cost: $6.95" alone does not
    # say it is a shipping price, "Shipping methods and prices: ..." does
    texts = [
        f"{p['heading']}: {u.plain}" if p.get("heading") else u.plain  # as `unit_texts`
        for p, own in zip(candidates, units, strict=True)
        for u in own
    ]
    dense = embed_cached(embed, texts) @ q if texts else np.zeros(0, dtype=np.float32)
    offset = 0
    for n, own in enumerate(units):
        scores[n] = scores[n] + dense[offset : offset + len(own)]
        offset += len(own)
    fit = embed_cached(embed, [_label(p) for p in candidates]) @ q
    return scores, [float(f) for f in fit]


def _exception(sentence: str, question: set[str]) -> bool:
    """A sentence that opens on a condition the question does not state: "If we sent the wrong
    item, ..." is the rule for "you sent me the wrong item", not an exception to it."""
    if not _CONDITION.match(sentence):
        return False
    clause = _CLAUSE.match(sentence)
    terms = set(analyse(clause.group(1))) if clause else set()
    return not terms or not terms <= question


def compose(
    blocks: list[Any], units: list[Unit], scores: np.ndarray, *, question: str = "", title: str = ""
) -> str:
    """The chosen units as Markdown, in document order, with what they need to be read right."""
    best = int(np.argmax(scores))
    keep = {n for n, s in enumerate(scores) if s >= scores[best] - MARGIN}
    sentence_ids = sorted(
        (n for n in keep if units[n].kind == "sentence"), key=lambda n: -scores[n]
    )[:MAX_SENTENCES]
    keep = {n for n in keep if units[n].kind != "sentence"} | set(sentence_ids) | {best}
    prose = [n for n, u in enumerate(units) if u.kind == "sentence" and not _META.match(u.plain)]
    if units[best].kind == "sentence" and sum(len(units[n].text) for n in prose) <= SHORT_SECTION:
        keep |= set(prose)  # a short section is written to be read whole
    how = [n for n in prose if _HOW_TO.search(units[n].plain)]
    # asked how, or for an action: "how do I ...", "please ...", a message that is no question
    asks = _ASKS_HOW.search(question) or not _QUESTION.search(question.strip() or "?")
    if how and asks and not keep & set(how):
        keep.add(max(how, key=lambda n: float(scores[n])))
    keep |= _led_in(blocks, units, keep)
    grids = {units[n].block for n in keep if units[n].kind != "sentence"}
    for b in grids:  # a list or table brings its lead-in
        lead = [n for n, u in enumerate(units) if u.block == b - 1 and u.kind == "sentence"]
        if lead and units[lead[-1]].text.endswith(":"):
            keep.add(lead[-1])
    parts: list[str] = []
    for b, block in enumerate(blocks):
        if isinstance(block, ListBlock | Table) and b in grids:
            size = len(block.items if isinstance(block, ListBlock) else block.rows)
            by_score = sorted(keep, key=lambda n: -scores[n])
            picked = [units[n].index for n in by_score if units[n].block == b]
            shown = list(range(size)) if size <= WHOLE_LIST else sorted(picked[:MAX_ROWS])
            what = "list" if isinstance(block, ListBlock) else "table"
            parts.append(_list(block, shown) if what == "list" else _table(block, shown))
            if size > WHOLE_LIST:  # say where the rest is
                parts.append(f"The full {what} is in the article “{title}”.".replace(" “”", ""))
        elif isinstance(block, Paragraph):
            chosen = [units[n].text for n, u in enumerate(units) if u.block == b and n in keep]
            if chosen:
                parts.append(" ".join(chosen))
    return "\n\n".join(parts)


def _led_in(blocks: list[Any], units: list[Unit], keep: set[int]) -> set[int]:
    """What kept lead-ins (":", "depends on") announce: the next list or table, later figures."""
    out: set[int] = set()
    for n in keep:
        unit, nxt = units[n], units[n].block + 1
        varies = unit.kind == "sentence" and bool(_DEPENDS.search(unit.plain))
        if varies:
            figures = [m for m in range(n + 1, len(units)) if units[m].block == unit.block]
            out |= set([m for m in figures if _FIGURE.search(units[m].plain)][:MAX_SENTENCES])
        lead = varies or (unit.kind == "sentence" and unit.text.endswith(":"))
        if lead and nxt < len(blocks) and isinstance(blocks[nxt], ListBlock | Table):
            out |= {m for m, u in enumerate(units) if u.block == nxt}
    return out


def _list(block: ListBlock, items: list[int]) -> str:
    marks = [f"{block.start + i}." if block.ordered else "-" for i in items]
    return "\n".join(f"{m} {block.items[i]}" for m, i in zip(marks, items, strict=True))


def _table(table: Table, rows: list[int]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [line(table.header), "| " + " | ".join("---" for _ in table.header) + " |"]
    out += [line(table.rows[r]) for r in rows]
    return "\n".join(out)
