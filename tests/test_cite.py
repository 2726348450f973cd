"""Citations, permalinks and recording links (issue 16, parts 2 and 5).

The archive is the tiny corpus plus s01/qa.vtt (tests/helpers.write_subtitled_corpus) with a `group` and
session 1's `recording:` added to its catalogue, written through `kb index`; `kb rebuild`, `kb export` and
`kb import-archive` run through the command line's `main`, as tests/test_cli.py does.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from indexer.archive.datadir import DataDir
from indexer.cli.commands import main
from indexer.index.store import Index
from indexer.search import browse
from indexer.search.cite import citation, clock, media_link
from indexer.search.kb import KnowledgeBase

from helpers import write_subtitled_corpus

GROUP = "自治体DX研究会 2025年度"
RECORDING = "https://www.youtube.com/watch?v=kbTestRec01"


def kb(args: list[str], capsys, data: Path) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(["--data", str(data), *args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def write_recorded_corpus(root: Path, recording: str = RECORDING) -> Path:
    """The subtitled tiny corpus whose catalogue names the group and session 1's recording."""
    write_subtitled_corpus(root)
    cat = root / "sessions.yaml"
    text = cat.read_text(encoding="utf-8")
    text = f"group: {GROUP}\n" + text.replace("    guests: [佐伯 一郎]\n",
                                               f"    guests: [佐伯 一郎]\n    recording: {recording}\n", 1)
    cat.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def data(tmp_path, capsys, monkeypatch) -> Path:
    monkeypatch.setenv("KB_BASE_URL", "https://kb.example.jp/")
    corpus = write_recorded_corpus(tmp_path / "corpus")
    code, _, err = kb(["index", str(corpus)], capsys, tmp_path / "data")
    assert code == 0, err
    return tmp_path / "data"


def search(data: Path, q: str, role: str = "member"):
    return KnowledgeBase(Index(DataDir.at(data).index), data_dir=data).search(q, role=role, page_size=50).hits


def turn_of(data: Path, url: str, role: str = "member") -> str:
    """The text of the turn a permalink opens: the document and order the 文書 page reads from it."""
    params = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    doc = KnowledgeBase(Index(DataDir.at(data).index), data_dir=data).document(params["doc"], role)
    assert doc is not None, url
    return next(s.text for s in doc.segments if s.order == int(params["seg"]))


# -- recording links -------------------------------------------------------------------------------
@pytest.mark.parametrize("recording, seconds, expected", [
    ("https://www.youtube.com/watch?v=abc", 4431.6, "https://www.youtube.com/watch?v=abc&t=4431"),
    ("https://www.youtube.com/watch?v=abc&t=10", 75, "https://www.youtube.com/watch?v=abc&t=75"),
    ("https://youtu.be/abc", 75, "https://youtu.be/abc?t=75"),
    ("https://m.youtube.com/live/abc", 2, "https://m.youtube.com/live/abc?t=2"),
    ("https://vimeo.com/123456", 75, "https://vimeo.com/123456#t=75s"),
    ("https://www.nicovideo.jp/watch/sm9", 75, "https://www.nicovideo.jp/watch/sm9?from=75"),
    ("https://example.org/rec/s06.mp4", 75, "https://example.org/rec/s06.mp4#t=75"),
    ("https://example.org/rec/s06.m4a#t=3", 75, "https://example.org/rec/s06.m4a#t=75"),
    ("https://example.org/play?id=6", 0.9, "https://example.org/play?id=6#t=0"),
    ("https://youtube.com.evil.example/watch", 5, "https://youtube.com.evil.example/watch#t=5"),
    ("https://example.org/s06.mp4", None, ""),
    ("", 75, ""),
    ("javascript:alert(1)", 75, ""),
    ("ftp://example.org/s06.mp4", 75, ""),
])
def test_media_link_formats(recording, seconds, expected):
    assert media_link(recording, seconds) == expected


def test_clock_is_h_mm_ss():
    assert [clock(x) for x in (4431.0, 59.9, 3600)] == ["1:13:51", "0:00:59", "1:00:00"]


def test_a_subtitle_hit_links_to_its_moment_and_a_transcript_hit_to_none(data):
    hits = search(data, "庁内公募")
    vtt = next(h for h in hits if h.doc_id == "s01-qa")
    assert vtt.start is not None
    assert vtt.media_url == media_link(RECORDING, vtt.start) == f"{RECORDING}&t={int(vtt.start)}"
    transcript = next(h for h in hits if h.doc_id == "t1")
    assert transcript.start is None and transcript.media_url == ""


def test_kb_show_and_search_print_the_time_link(data, capsys):
    code, out, _ = kb(["show", "s01-qa"], capsys, data)
    assert code == 0 and f"▶ 0:41:20 {RECORDING}&t=2480" in out
    code, out, _ = kb(["show", "t1"], capsys, data)
    assert code == 0 and "▶" not in out
    _, out, _ = kb(["show", "s01-qa", "--json"], capsys, data)
    segs = json.loads(out)["segments"]
    assert all(s["media_url"] == f"{RECORDING}&t={int(s['start'])}" for s in segs)


def test_a_session_without_recording_has_no_media_links(tmp_path, capsys):
    corpus = write_subtitled_corpus(tmp_path / "corpus")  # no recording: in the catalogue
    kb(["index", str(corpus)], capsys, tmp_path / "data")
    assert all(h.media_url == "" for h in search(tmp_path / "data", "庁内公募"))


# -- citations -------------------------------------------------------------------------------------
def test_citation_uses_the_catalogues_names(data):
    hit = next(h for h in search(data, "庁内公募") if h.doc_id == "t1")
    assert hit.cite == f"{GROUP} 第1回（2025-06-17）質疑応答 佐伯一郎 発言 — {hit.url}"
    assert hit.url == f"https://kb.example.jp/document?doc=t1&seg={hit.order}"
    assert citation(GROUP, 1, "2025-06-17", "qa", "佐伯一郎", "public", hit.url) == hit.cite


def test_members_only_turns_say_so(data):
    members = search(data, "翠嵐") + search(data, "カワセミ")
    assert {h.doc_id for h in members} == {"t1", "m2"}
    for h in members:
        assert h.visibility == "members" and "（会員限定） — " in h.cite
    public = search(data, "庁内公募")
    assert all("会員限定" not in h.cite for h in public)


def test_permalinks_and_citations_survive_rebuild_and_import_archive(data, capsys, tmp_path):
    before = {h.id: (h.url, h.cite, h.media_url, h.text) for q in ("庁内公募", "翠嵐", "内製化")
              for h in search(data, q)}
    assert len(before) >= 4
    for url, _, _, text in before.values():
        assert turn_of(data, url) == text
    code, _, err = kb(["rebuild"], capsys, data)
    assert code == 0, err
    after = {h.id: (h.url, h.cite, h.media_url, h.text) for q in ("庁内公募", "翠嵐", "内製化")
             for h in search(data, q)}
    assert after == before
    for url, _, _, text in before.values():  # the same URL opens the same turn's text
        assert turn_of(data, url) == text
    archive = tmp_path / "kb.tar.gz"
    assert kb(["export", str(archive)], capsys, data)[0] == 0
    other = tmp_path / "restored"
    code, _, err = kb(["import-archive", str(archive)], capsys, other)
    assert code == 0, err
    restored = {h.id: (h.url, h.cite, h.media_url, h.text) for q in ("庁内公募", "翠嵐", "内製化")
                for h in search(other, q)}
    assert restored == before  # the recording comes back with the kept catalogue
    assert any(m for _, _, m, _ in restored.values())


def test_search_json_carries_cite_url_and_media_url(data, capsys):
    code, out, _ = kb(["search", "庁内公募", "--json", "--role", "member"], capsys, data)
    hits = json.loads(out)["hits"]
    assert code == 0 and hits
    for h in hits:
        assert {"cite", "url", "media_url"} <= set(h)
        assert h["cite"].endswith(" — " + h["url"]) and h["url"].startswith("https://kb.example.jp/document?")
        assert h["media_url"] == (f"{RECORDING}&t={int(h['start'])}" if h["start"] is not None else "")
    assert any(h["media_url"] for h in hits) and any(not h["media_url"] for h in hits)


def test_the_sample_corpus_links_session_6_subtitles_to_its_recording(tmp_path, capsys, monkeypatch):
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    assert kb(["index", str(corpus)], capsys, tmp_path / "data")[0] == 0
    hits = search(tmp_path / "data", "ガバメントクラウド 費用", role="public")
    vtt = [h for h in hits if h.doc_id == "s06-qa"]
    assert vtt and all(h.media_url and h.media_url.endswith(f"t={int(h.start)}") for h in vtt)
    assert all(h.media_url.startswith("https://www.youtube.com/watch?v=") for h in vtt)
    assert all(not h.media_url for h in hits if h.start is None)


def test_csv_rows_carry_the_citation_before_the_link(data):
    kbase = KnowledgeBase(Index(DataDir.at(data).index), data_dir=data)
    rows = list(csv.reader(browse.results_csv(kbase, "庁内公募", role="member",
                                              base_url="https://kb.example.jp").splitlines()))
    assert rows[0][-2:] == ["引用", "リンク"] and len(rows) == 3
    hits = {h.url: h for h in search(data, "庁内公募")}
    for row in rows[1:]:
        head, url = row[-2].split(" — ")
        assert hits[url].cite == row[-2] and head.startswith(f"{GROUP} 第1回（2025-06-17）質疑応答 ")
        assert row[-1] == url + "&q=%E5%BA%81%E5%86%85%E5%85%AC%E5%8B%9F"  # the link marks the query too
