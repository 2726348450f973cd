"""Speakers as people look for them: by a part of the name or its reading (さえき → 佐伯一郎), and their turns."""

from __future__ import annotations

from indexer.search import browse, people

from helpers import build_kb


def test_answerer_by_reading_finds_the_speaker(tmp_path):
    kb = build_kb(tmp_path)
    by_name = browse.qa_pairs(kb, "public", answerer="佐伯")
    assert by_name and {a.speaker for p in by_name for a in p.answers} == {"佐伯一郎"}
    for typed in ("さえき", "サエキ", "さえき いちろう", "佐伯一郎", "佐伯 一郎"):
        got = browse.qa_pairs(kb, "public", answerer=typed)
        assert [(p.doc_id, p.question.order) for p in got] == [(p.doc_id, p.question.order) for p in by_name], typed
    assert browse.qa_pairs(kb, "public", answerer="たなか") == []


def test_matching_speakers_by_reading():
    names = ["北条真琴", "佐伯一郎", "田村花子"]
    assert people.matching_speakers(names, "ほうじょう") == ["北条真琴"]
    assert people.matching_speakers(names, "タムラ") == ["田村花子"]
    assert people.matching_speakers(names, "北条座長") == ["北条真琴"]
    assert people.matching_speakers(names, "") == [] and people.matching_speakers(names, "すずき") == []


def test_speaker_turns_respect_visibility(tmp_path):
    kb = build_kb(tmp_path)
    public = people.speaker_turns(kb, "田村花子", "public")
    member = people.speaker_turns(kb, "田村花子", "member")
    assert [t.text for t in public] == ["内製化で費用は下がりましたか？", "人材はどう確保しましたか？"]
    assert len(member) == len(public) + 1 and any("翠嵐" in t.text for t in member)
    assert not any("翠嵐" in t.text for t in public)
    assert {t.doc_id for t in member} == {"t1"} and all(t.session == 1 for t in member)
    assert people.speaker_turns(kb, "", "member") == []
