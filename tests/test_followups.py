"""Follow-ups across sessions (ほかの回でも): precision and recall on the labelled set, the links kept in step
with every write (add, replace, remove, rebuild, import-archive, withdrawal), access by role, CLI output.

The sample corpus is indexed through `indexer.archive` (as `kb index corpus`); the labelled pairs
(`tests/data/followups.jsonl`) name turns by document id and a fragment of their text.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from indexer.archive import followups as kept
from indexer.archive import redaction
from indexer.archive.actions import add_files, index_corpus, rebuild, remove
from indexer.archive.backup import export, import_archive
from indexer.archive.datadir import DataDir
from indexer.bench import followup_eval
from indexer.cli.commands import run
from indexer.index.store import Index
from indexer.search import followup_links, followups
from indexer.search.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "followups.jsonl"
QUESTION = ("s02-transcript", "改善で減った作業時間を、村全体で集計していますか")  # asked in 第2回 …
ANSWER = ("s05-transcript", "第2回で野々宮さんから質問のあった")  # … and answered in 第5回
PUBLIC_PAIR = (("s02-report", "野々宮委員から「一人一改善」"), ("s05-report", "第2回で宿題となっていた"))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> DataDir:
    """The sample corpus, indexed once for the read-only tests of this module."""
    data = DataDir.at(tmp_path_factory.mktemp("followups") / "data")
    index_corpus(ROOT / "corpus", data)
    return data


def kb_of(data: DataDir) -> KnowledgeBase:
    return KnowledgeBase(Index(data.index), data_dir=data.root)


def turn(kb: KnowledgeBase, ref: tuple[str, str]) -> str:
    return followup_eval.resolve(kb, {"doc": ref[0], "text": ref[1]})


def linked(kb: KnowledgeBase, a: str, b: str, role: str = "secretariat") -> bool:
    return b in {f.id for f in followup_links.for_turn(kb, a, role)}


# -- quality on the labelled set ---------------------------------------------------------------------
def test_the_labelled_set_has_30_follow_ups_and_30_near_misses_of_every_kind(sample):
    pairs = followup_eval.load_pairs(LABELS, kb_of(sample))  # every fragment names exactly one turn
    labels = [p.label for p in pairs]
    assert labels.count(followup_eval.FOLLOWUP) >= 30 and labels.count(followup_eval.NEAR_MISS) >= 30
    kinds = {p.kind for p in pairs if p.label == followup_eval.NEAR_MISS}
    assert {"generic", "same words", "same session"} <= kinds


def test_precision_and_recall_at_the_calibrated_threshold(sample):
    ix = Index(sample.index)
    pairs = followup_eval.load_pairs(LABELS, kb_of(sample))
    at = followup_eval.score(ix, pairs)
    assert at.threshold == followups.THRESHOLD
    assert at.precision >= 0.9, [(p.a, p.b, p.kind) for p in at.wrong]
    assert at.recall >= 0.6, [(p.a, p.b, p.kind) for p in at.missed]
    looser, stricter = followup_eval.sweep(ix, pairs, [followups.THRESHOLD - 0.1, followups.THRESHOLD + 0.1])
    assert looser.recall >= at.recall >= stricter.recall  # the threshold trades one for the other


def test_the_question_of_session_2_is_linked_both_ways_to_its_answer_in_session_5(sample):
    kb = kb_of(sample)
    q, a = turn(kb, QUESTION), turn(kb, ANSWER)
    assert linked(kb, q, a, "member") and linked(kb, a, q, "member")
    found = next(f for f in followup_links.for_turn(kb, q, "member") if f.id == a)
    assert found.lead == "第5回でも議論" and found.speaker == "森下千晶" and found.snippet.startswith("事務局から")


def test_a_turn_is_never_linked_within_its_own_session(sample):
    raw = json.loads((sample.root / followup_links.FILE_NAME).read_text(encoding="utf-8"))
    assert raw["pairs"]
    for a, b, _ in raw["pairs"]:
        assert raw["turns"][a]["session"] and raw["turns"][a]["session"] != raw["turns"][b]["session"]


# -- access ----------------------------------------------------------------------------------------
def test_public_sees_a_link_only_when_both_turns_are_public(sample):
    kb = kb_of(sample)
    r2, r5 = turn(kb, PUBLIC_PAIR[0]), turn(kb, PUBLIC_PAIR[1])
    members_turn = turn(kb, QUESTION)  # the s02 transcript is members-only
    assert linked(kb, r2, r5, "public") and linked(kb, r5, r2, "public")
    assert linked(kb, r5, members_turn, "member")
    assert not linked(kb, r5, members_turn, "public")
    assert followup_links.for_turn(kb, members_turn, "public") == []
    for tid in followup_links.load(sample.root).by_turn:
        for f in followup_links.for_turn(kb, tid, "public"):
            assert f.public and followup_links.load(sample.root).public[tid]


def test_search_hits_carry_their_follow_ups_for_the_role(sample):
    kb = kb_of(sample)
    q = turn(kb, QUESTION)
    member = {h.id: h for h in kb.search("削減時間 集計", role="member", page_size=20).hits}
    assert any(f["id"] == turn(kb, ANSWER) and f["session"] == 5 and f["url"].endswith("seg=" + ANSWER_ORDER(kb))
               for f in member[q].followups)
    for h in kb.search("削減時間 集計", role="public", page_size=20).hits:
        assert all(f["public"] for f in h.followups)
        assert all(f["doc_id"] != "s02-transcript" for f in h.followups)


def ANSWER_ORDER(kb: KnowledgeBase) -> str:  # noqa: N802 - reads as the constant it stands for
    return turn(kb, ANSWER).split("#")[1].lstrip("0") or "0"


def test_cli_followups_and_search_json(sample, capsys):
    q = turn(kb_of(sample), QUESTION)
    assert run(["--data", str(sample.root), "followups", q, "--role", "member"]) == 0
    out = capsys.readouterr().out
    assert "第5回でも議論: 森下千晶" in out
    assert run(["--data", str(sample.root), "followups", q, "--role", "member", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["id"] == q and {f["session"] for f in got["followups"]} == {5}
    assert run(["--data", str(sample.root), "search", "削減時間 集計", "--json", "--role", "member"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert any(h["followups"] for h in hits)


# -- the links follow every write --------------------------------------------------------------------
@pytest.fixture
def archive(tmp_path) -> tuple[DataDir, Path]:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    data = DataDir.at(tmp_path / "data")
    index_corpus(corpus, data)
    return data, corpus


def test_removal_drops_the_documents_links_and_adding_it_back_restores_them(archive):
    data, corpus = archive
    kb = kb_of(data)
    q, a = turn(kb, QUESTION), turn(kb, ANSWER)
    assert linked(kb, q, a)
    remove(data, "s05-transcript")
    kb = kb_of(data)
    assert followup_links.for_turn(kb, q, "secretariat") and not linked(kb, q, a)
    assert all(not t.startswith("s05-transcript#") for t in followup_links.load(data.root).by_turn)
    add_files(data, [corpus / "s05" / "transcript.md"])
    assert linked(kb_of(data), q, a)
    incremental = {frozenset(p[:2]) for p in kept.stored(data)["pairs"]}  # only s05's turns scored again
    assert kept.refresh(data, force=True)
    assert incremental == {frozenset(p[:2]) for p in kept.stored(data)["pairs"]}  # = everything computed


def test_a_withdrawn_turn_loses_its_links(archive):
    data, _ = archive
    kb = kb_of(data)
    q, a = turn(kb, QUESTION), turn(kb, ANSWER)
    redaction.redact(data, a, reason="発言者の申し出により取り消し")
    kb = kb_of(data)
    assert not linked(kb, q, a) and followup_links.for_turn(kb, a, "secretariat") == []
    redaction.unredact(data, a)
    assert linked(kb_of(data), q, a)


def test_rebuild_and_import_archive_compute_the_same_links(archive, tmp_path):
    data, _ = archive
    before = json.loads((data.root / followup_links.FILE_NAME).read_text())
    (data.root / followup_links.FILE_NAME).unlink()
    rebuild(data)
    after = json.loads((data.root / followup_links.FILE_NAME).read_text())
    assert after["pairs"] == before["pairs"] and after["key"] != before["key"]
    dump = tmp_path / "kb.tar.gz"
    export(data, dump)
    other = DataDir.at(tmp_path / "other")
    import_archive(other, dump)
    assert json.loads((other.root / followup_links.FILE_NAME).read_text())["pairs"] == before["pairs"]


def test_links_of_another_index_generation_are_not_shown(archive):
    data, corpus = archive
    kb = kb_of(data)
    q = turn(kb, QUESTION)
    assert followup_links.for_turn(kb, q, "secretariat")
    Index(data.index).put([])  # an index changed outside the archive's transactions: a new generation
    doc = kb.document("s06-report", "secretariat")
    Index(data.index).put([doc])
    assert followup_links.for_turn(kb_of(data), q, "secretariat") == []
    assert kept.refresh(data) and followup_links.for_turn(kb_of(data), q, "secretariat")


def test_an_index_too_large_gets_no_links_and_shows_none(archive, monkeypatch):
    data, corpus = archive
    q = turn(kb_of(data), QUESTION)
    monkeypatch.setattr(kept, "MAX_PASSAGES", 10)
    add_files(data, [corpus / "s06" / "report.md"], overrides={"id": "s06-report-copy"})
    assert kept.stored(data)["skipped"] and followup_links.for_turn(kb_of(data), q, "secretariat") == []
