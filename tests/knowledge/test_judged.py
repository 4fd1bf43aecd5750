"""The judge's second labels for the blind demo set (evals/retrieval/judged.py)."""

import json

import pytest

from evals.retrieval import judged as jd
from evals.retrieval.sets import Question, named_sets
from evals.retrieval.systems import entry_keys, labelled_questions, section_texts


def _q(qid: str, relevant: list[str], split: str = "test") -> Question:
    return Question(id=qid, question=qid, answerable=True, relevant=relevant, split=split)


QUESTIONS = [_q("a", ["r.md|Points"]), _q("b", ["r.md|Using"]), _q("c", ["s.md|Cost"])]
JUDGED = {"a": {"r.md|Points"}, "b": {"r.md|Works"}, "c": set()}
RANKED = {
    "a": [["r.md|Points"], ["x.md|"], ["y.md|"]],
    "b": [["r.md|Works"], ["r.md|Using"], ["y.md|"]],  # the judge's section first
    "c": [["x.md|"], ["y.md|"], ["z.md|"]],  # a miss under every label set
}


def test_recall_under_each_label_set() -> None:
    assert jd.recall(RANKED, QUESTIONS, JUDGED, "written") == (1 / 3, 2 / 3)
    assert jd.recall(RANKED, QUESTIONS, JUDGED, "judged") == (2 / 3, 2 / 3)
    assert jd.recall(RANKED, QUESTIONS, JUDGED, "either") == (2 / 3, 2 / 3)
    with pytest.raises(ValueError, match="unknown label set"):
        jd.recall(RANKED, QUESTIONS, JUDGED, "mine")


def test_agreement_counts() -> None:
    assert jd.agreement(QUESTIONS, JUDGED) == {
        "questions": 3,
        "judge lists the written label": 1,
        "judge lists another section only": 1,
        "judge finds no answer": 1,
        "judge lists 2 or more sections": 0,
    }


def test_a_malformed_line_is_refused(tmp_path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"id": "b001", "sections": ["a.md|B"]}\n{"id": "b002", "sections": "a.md|B"}\n'
    )
    with pytest.raises(ValueError, match="x.jsonl:2"):
        jd.load_judged(path)


@pytest.mark.parametrize("name", ["demo-blind", "faq2-blind"])
def test_the_committed_judgements_cover_the_set_with_real_sections(name: str) -> None:
    eval_set = named_sets()[name]
    keys = entry_keys(eval_set.corpus) if eval_set.corpus is not None else None
    judged = jd.load_judged(jd.judged_path(name), keys)
    answerable = {q.id for q in labelled_questions(eval_set) if q.answerable}
    assert set(judged) == answerable
    known = set(section_texts(eval_set.corpus))
    unknown = {s for sections in judged.values() for s in sections} - known
    assert not unknown, unknown
    # the judge found an answer for nearly every question: a file of empty lists would pass above
    assert sum(1 for sections in judged.values() if sections) >= 0.9 * len(answerable)


def test_main_scores_every_system_of_a_run(tmp_path, capsys) -> None:
    questions = [q for q in labelled_questions(named_sets()["demo-blind"]) if q.answerable]
    judged = jd.load_judged(jd.judged_path("demo-blind"))
    perfect = {q.id: {"sections": [sorted(set(q.relevant))]} for q in questions}
    judges = {q.id: {"sections": [sorted(judged[q.id]) or ["none.md|"]]} for q in questions}
    run = tmp_path / "run.json"
    run.write_text(json.dumps([{"set": "demo-blind", "per_question": {"w": perfect, "j": judges}}]))
    assert jd.main([str(run), "--split", "all"]) == 0
    out = capsys.readouterr().out
    assert f"{len(questions)} answerable questions" in out
    assert "| w | 1.000 / 1.000 |" in out  # the written labels, ranked first
    rows = {line.split(" | ")[0]: line for line in out.splitlines() if line.startswith("| ")}
    found = sum(1 for q in questions if judged[q.id])
    assert f"{found / len(questions):.3f} / {found / len(questions):.3f} |" in rows["| j"]
