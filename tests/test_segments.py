"""Documents from sources: metadata precedence, parts, turns, Q&A links, visibility."""

import pytest

from indexer.errors import IngestError
from indexer.ingest.catalogue import Catalogue
from indexer.ingest.loading import load_document
from indexer.ingest.segments import build_document, part_of_heading
from indexer.ingest.sources import Source

from helpers import write_corpus


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path / "corpus")


def test_transcript_turns_parts_and_speakers(corpus):
    doc = load_document(corpus / "s01" / "transcript.md", Catalogue.load(corpus))
    assert doc.id == "t1" and doc.type == "transcript" and doc.date == "2025-06-17"
    got = [(s.part, s.speaker, s.speaker_role) for s in doc.segments]
    assert got[0] == ("lecture", "北条真琴", "座長")
    assert got[1] == ("guest_talk", "佐伯一郎", "ゲスト")
    assert [s.part for s in doc.segments].count("qa") == 4


def test_questions_link_to_answers(corpus):
    doc = load_document(corpus / "s01" / "transcript.md", Catalogue.load(corpus))
    qa = [(s.order, s.qa, s.answers_to) for s in doc.segments if s.part == "qa"]
    assert qa == [(2, "question", None), (3, "answer", 2), (4, "question", None), (5, "answer", 4)]


def test_members_only_part(corpus):
    doc = load_document(corpus / "s01" / "transcript.md", Catalogue.load(corpus))
    vis = {s.part: s.visibility for s in doc.segments}
    assert vis["discussion"] == "members" and vis["qa"] == "public"


def test_precedence_catalogue_front_matter_flags(corpus):
    cat = Catalogue.load(corpus)
    doc = load_document(corpus / "s01" / "report.md", cat)
    assert (doc.session, doc.type, doc.visibility, doc.title) == (1, "report", "public", "第1回レポート")
    doc = load_document(corpus / "s01" / "report.md", cat, {"session": 2, "title": "上書き", "visibility": "members"})
    assert (doc.session, doc.title, doc.visibility, doc.date) == (2, "上書き", "members", "2025-08-19")


def test_report_paragraphs_keep_headings(corpus):
    doc = load_document(corpus / "s01" / "report.md", Catalogue.load(corpus))
    assert doc.segments[0].text == "第1回レポート 推進体制と人材"
    assert all(not s.speaker for s in doc.segments)


@pytest.mark.parametrize("heading, part", [("講義", "lecture"), ("ゲスト講演", "guest_talk"), ("質疑応答", "qa"),
                                           ("ディスカッション", "discussion"), ("はじめに", None)])
def test_part_of_heading(heading, part):
    assert part_of_heading(heading) == part


@pytest.mark.parametrize(
    "meta, message",
    [({"type": "memo"}, "種類"), ({"visibility": "secret"}, "公開範囲"), ({"session": "x"}, "回"),
     ({"date": "6月17日"}, "日付"), ({"part": "lunch"}, "part")],
)
def test_bad_metadata_is_refused_in_japanese(meta, message):
    with pytest.raises(IngestError, match=message):
        build_document(Source("a.md", "本文です。", "utf-8", meta))


def test_empty_body_is_refused():
    with pytest.raises(IngestError, match="本文が空"):
        build_document(Source("a.md", "\n\n", "utf-8"))


def test_captions_merge_consecutive_cues_of_a_speaker(tmp_path):
    vtt = tmp_path / "qa.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v 田村>内製化の費用は\n\n"
        "00:00:04.000 --> 00:00:06.500\n<v 田村>下がりましたか。\n\n"
        "00:00:07.000 --> 00:00:09.000\n佐伯: 下がりました。\n",
        encoding="utf-8",
    )
    doc = load_document(vtt, overrides={"part": "qa"})
    assert [(s.speaker, s.start, s.end) for s in doc.segments] == [("田村", 1.0, 6.5), ("佐伯", 7.0, 9.0)]
    assert doc.segments[0].text == "内製化の費用は\n下がりましたか。"
    assert doc.type == "transcript"


def test_catalogue_title_wins_over_a_page_title(tmp_path):
    (tmp_path / "sessions.yaml").write_text(
        "sessions:\n  - number: 4\n    date: 2025-12-16\n    documents:\n"
        "      - {file: page.html, type: report, visibility: public, title: 第4回レポート}\n", encoding="utf-8")
    (tmp_path / "page.html").write_text(
        "<html><head><title>サイト名 | ページ</title></head><body><main><h1>見出し</h1>"
        "<p>ネットワークの内製化について報告します。十分な長さの本文がここにあります。</p></main></body></html>",
        encoding="utf-8")
    assert load_document(tmp_path / "page.html", Catalogue.load(tmp_path)).title == "第4回レポート"
    assert load_document(tmp_path / "page.html").title == "サイト名 | ページ"


def test_name_variants_merge_without_a_catalogue():
    text = "大久保 光伸：内製化の経緯です。\n大久保氏：補足します。\n田村：質問です。\n大久保：お答えします。"
    doc = build_document(Source("t.md", text, "utf-8"), overrides={"type": "transcript"})
    assert [s.speaker for s in doc.segments] == ["大久保光伸", "大久保光伸", "田村", "大久保光伸"]
