"""Synonym groups (knowledge/synonyms.py): phrases of one group share a token in the analyser,
on the help center's side and the question's, and a store can add its own groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import synonyms
from knowledge.lexical import LexicalIndex, analyse, words


def test_phrases_of_one_group_share_a_token_and_others_do_not() -> None:
    asked = analyse("please remove me from your mailing list")
    written = analyse("Marketing Emails: unsubscribe with the link in any email")
    other = analyse("Delete my account under Account > Privacy")
    shared = {t for t in asked if t.startswith("~syn")} & set(written)
    assert len(shared) == 1
    assert not shared & set(other)
    # the words themselves stay: a group only ever adds a match
    assert {"mail", "list"} <= set(asked) and {"market", "email"} <= set(written)


def test_a_phrase_matches_its_words_in_sequence_only() -> None:
    groups = synonyms.Synonyms([["zip code", "postcode"]], words)
    assert groups.tokens(words("my zip code is wrong")) == ["~syn0"]
    assert groups.tokens(words("my postcode is wrong")) == ["~syn0"]
    assert groups.tokens(words("code for the zip on my bag")) == []


def test_a_phrase_that_analyses_to_one_common_word_is_skipped() -> None:
    # "in" is a stopword: "sign in" would match "sign for a parcel"
    groups = synonyms.Synonyms([["sign in", "login", "account access"]], words)
    assert groups.tokens(words("does someone have to sign for it")) == []
    assert groups.tokens(words("login page")) == ["~syn0"]
    assert groups.tokens(words("no account access since monday")) == ["~syn0"]


def test_a_store_file_adds_groups_to_the_shipped_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ours.txt"
    path.write_text("# our names\nrain shell, waterproof jacket\n\n", encoding="utf-8")
    monkeypatch.setenv(synonyms.ENV, str(path))
    loaded = synonyms.load(words)
    shipped = synonyms.parse(synonyms.DEFAULT_FILE.read_text(encoding="utf-8"))
    assert len(loaded) == len(shipped) + 1
    assert loaded.tokens(words("is the rain shell warm")) == loaded.tokens(
        words("is the waterproof jacket warm")
    )
    assert loaded.tokens(words("is the rain shell warm")) != []


def test_a_missing_store_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        synonyms.load(words, tmp_path / "nope.txt")


def test_keyword_search_finds_the_synonym() -> None:
    texts = [
        "Marketing emails. Unsubscribe with the link at the bottom of any marketing email.",
        "Deleting your account. Request deletion under Account > Privacy; we remove it.",
    ]
    index = LexicalIndex(["m", "d"], texts, [{}, {}])
    hits = index.search(analyse("remove me from the mailing list"), 2)
    assert [index.ids[i] for i, _ in hits][0] == "m"
    # without the group only "remove" matches, which is the deletion text's word
    plain = index.search(words("remove me from the mailing list"), 2)
    assert [index.ids[i] for i, _ in plain] == ["d"]


def test_a_group_the_help_center_never_uses_does_not_lower_coverage() -> None:
    # the question's "newsletter" brings a group token; a help center without any phrase of
    # that group must score the question as if the token were not there
    index = LexicalIndex(["a"], ["Our blog archive lists every article we wrote."], [{}])
    asked = analyse("is there a newsletter archive")
    assert any(synonyms.is_token(t) for t in asked)
    plain = words("is there a newsletter archive")
    assert index.coverage(asked, 0) == index.coverage(plain, 0) > 0
    assert index.unseen(asked) == index.unseen(plain)
