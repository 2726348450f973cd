"""Readers for .html/.htm, .docx and .pdf: extraction, limits, and bad input → IngestError only."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest
from docx.enum.style import WD_STYLE_TYPE

from indexer.archive.actions import add_files
from indexer.archive.datadir import DataDir
from indexer.errors import IngestError
from indexer.index.store import Index
from indexer.ingest import formats
from indexer.ingest.loading import SUPPORTED_SUFFIXES, load_document
from indexer.ingest.sources import read_source
from indexer.search.kb import KnowledgeBase

from conftest import shared_path

SEED = "seeds/000_31f1e6261664a39d.txt"
SEED_BOILERPLATE = ("本文へスキップします。", "【全】ヘッダーリンク", "サイト内検索 検索", "関連リンク")

# --- fixtures built in the tests ---------------------------------------------------------------


def html_page(body: str, title: str = "第4回レポート", charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!DOCTYPE html><html lang='ja'><head>{meta}<title>{title}</title></head><body>"
        "<a href='#main'>本文へスキップします。</a>"
        "<header><nav><ul><li><a href='/'>【全】ヘッダーリンク</a></li><li><a href='/map'>サイトマップ</a></li>"
        "<li><a href='/access'>アクセス案内</a></li></ul></nav>"
        "<form action='/search' role='search'><label>サイト内検索</label><input name='q'>"
        "<button>検索</button></form></header>"
        f"<main id='main'>{body}</main>"
        "<div class='related'><h3>関連リンク</h3><ul><li><a href='/r3'>関連リンク 第3回のレポート</a></li>"
        "<li><a href='/r5'>第5回の開催案内ページ</a></li></ul></div>"
        "<footer><p>Copyright 事務局フッター</p></footer></body></html>"
    )


HTML_BODY = (
    "<h1>第4回レポート</h1><h2>推進体制の整備</h2>"
    "<p>①組織は作ったが人材がいない、という課題について㈱ベンダーの方と議論しました。</p>"
    "<p>②人材はいるが活用できる組織がない場合の進め方も紹介しました。</p>"
    "<table><tr><td>日時</td><td>12月20日</td></tr><tr><td>ゲスト</td><td>大久保氏</td></tr></table>"
)
NAV_TEXTS = ("本文へスキップ", "ヘッダーリンク", "サイトマップ", "アクセス案内", "サイト内検索", "関連リンク",
             "第5回の開催案内ページ", "事務局フッター")


def make_docx(with_table: bool = True) -> bytes:
    d = docx.Document()
    d.add_heading("推進体制の整備", level=1)
    d.add_paragraph("①組織は作ったが人材がいない。")
    d.add_paragraph("")
    d.styles.add_style("見出し 2", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("内製化の経緯", style="見出し 2")
    d.add_paragraph("クラウドの直接契約で費用が下がりました。")
    if with_table:
        t = d.add_table(rows=2, cols=3)
        for r, row in enumerate([("日時", "12月20日", "火曜"), ("ゲスト", "大久保氏", "")]):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    d.add_paragraph("表の後の段落です。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def make_pdf(pages: list[str]) -> bytes:
    """A PDF whose text layer holds `pages` (any Unicode): a Type0/Identity-H font with a ToUnicode map.

    No glyphs are embedded (viewers draw nothing useful), but the text layer is real.
    """
    chars = sorted({c for p in pages for c in p if c != "\n"})
    cid = {c: i + 1 for i, c in enumerate(chars)}
    bfchar = "\n".join(f"<{cid[c]:04X}> <{c.encode('utf-16-be').hex().upper()}>" for c in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        f"{len(chars)} beginbfchar\n{bfchar}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    n_pages = len(pages)
    # objects: 1 catalog, 2 pages, 3 font, 4 cidfont, 5 tounicode, then (page, content) pairs
    objs: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /KBTest /Encoding /Identity-H "
           b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        4: b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /KBTest "
           b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        5: f"<< /Length {len(cmap)} >>\nstream\n{cmap}\nendstream".encode(),
    }
    kids = []
    for i, text in enumerate(pages):
        page_no, content_no = 6 + 2 * i, 7 + 2 * i
        kids.append(f"{page_no} 0 R")
        ops = ["BT /F1 12 Tf 50 800 Td 14 TL"]
        for line in text.split("\n"):
            ops.append("<" + "".join(f"{cid[c]:04X}" for c in line) + "> Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode()
        objs[page_no] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_no} 0 R "
                         "/Resources << /Font << /F1 3 0 R >> >> >>").encode()
        objs[content_no] = f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
    objs[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n_pages} >>".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for no in sorted(objs):
        offsets[no] = len(out)
        out += f"{no} 0 obj\n".encode() + objs[no] + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for no in sorted(objs):
        out += f"{offsets[no]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def blank_pdf() -> bytes:
    w = pypdf.PdfWriter()
    w.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def encrypted_pdf() -> bytes:
    r = pypdf.PdfReader(io.BytesIO(make_pdf(["Secret text"])))
    w = pypdf.PdfWriter()
    for p in r.pages:
        w.add_page(p)
    w.encrypt(user_password="pw", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


# --- readers: good input -----------------------------------------------------------------------

PDF_PAGES = ["推進体制の整備\n①人材の確保", "Cloud contract 2025\n内製化の経緯"]

GOOD = [
    # (name, bytes, expected label, texts that must appear, texts that must not appear)
    ("utf8.html", html_page(HTML_BODY).encode("utf-8"), "utf-8",
     ["## 推進体制の整備", "①組織は作ったが人材がいない", "㈱ベンダー", "日時 | 12月20日"], NAV_TEXTS),
    ("cp932.htm", html_page(HTML_BODY, charset="Shift_JIS").encode("cp932"), "cp932",
     ["## 推進体制の整備", "①組織は作ったが人材がいない", "㈱ベンダー"], NAV_TEXTS),
    ("cp932-undeclared.html", html_page(HTML_BODY, charset=None).encode("cp932"), "cp932",
     ["## 推進体制の整備", "②人材はいるが"], NAV_TEXTS),
    ("eucjp.html", html_page(HTML_BODY.replace("①", "").replace("②", "").replace("㈱", ""),
                             charset="EUC-JP").encode("euc_jp"), "euc_jp",
     ["## 推進体制の整備", "人材はいるが"], NAV_TEXTS),
    ("report.docx", make_docx(), "docx",
     ["## 推進体制の整備\n\n①組織は作ったが人材がいない。\n\n## 内製化の経緯",
      "日時 | 12月20日 | 火曜\n\nゲスト | 大久保氏 | \n\n表の後の段落です。"], ()),
    ("report.pdf", make_pdf(PDF_PAGES), "pdf",
     ["推進体制の整備\n①人材の確保\n\nCloud contract 2025\n内製化の経緯"], ()),
]


@pytest.mark.parametrize("name, data, label, present, absent", GOOD, ids=[g[0] for g in GOOD])
def test_read_document(name, data, label, present, absent):
    text, got_label, meta = formats.read_document(data, name)
    assert got_label == label
    for s in present:
        assert s in text
    for s in absent:
        assert s not in text
    assert "\n\n\n" not in text
    if name.endswith((".html", ".htm")):
        assert meta == {"title": "第4回レポート"}


def test_html_title_falls_back_to_h1():
    page = "<html><body><main><h1>見出しの題名</h1><p>本文の段落です。</p></main></body></html>"
    text, _, meta = formats.read_html(page.encode(), "x.html")
    assert meta == {"title": "見出しの題名"}
    assert "本文の段落です。" in text


def test_html_fragment_without_html_and_body():
    text, _, meta = formats.read_html("<h2>小見出し</h2><p>断片だけの本文です。</p>".encode(), "frag.html")
    assert "断片だけの本文です。" in text


def test_docx_bomb_is_refused_before_python_docx_opens_it(monkeypatch):
    monkeypatch.setattr(formats, "MAX_UNZIPPED_BYTES", 1024 * 1024)
    monkeypatch.setattr(docx, "Document", lambda *a, **k: pytest.fail("python-docx opened a zip bomb"))
    bomb = make_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (5 * 1024 * 1024)})
    assert len(bomb) < 50_000
    with pytest.raises(IngestError, match="展開後のサイズが大きすぎます"):
        formats.read_document(bomb, "bomb.docx")


def test_docx_with_too_many_entries_is_refused(monkeypatch):
    monkeypatch.setattr(formats, "MAX_ZIP_ENTRIES", 5)
    with pytest.raises(IngestError, match="ファイル数が多すぎます"):
        formats.read_document(make_zip({f"f{i}.xml": b"x" for i in range(10)}), "many.docx")


def test_line_length_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(formats, "MAX_LINE_CHARS", 100)
    (tmp_path / "long.txt").write_text("短い行\n" + "あ" * 101 + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match="2 行目が長すぎます"):
        read_source(tmp_path / "long.txt")
    (tmp_path / "ok.txt").write_text("短い行\n" + "あ" * 100 + "\n", encoding="utf-8")
    assert read_source(tmp_path / "ok.txt").text.startswith("短い行")
    page = html_page(f"<p>{'い' * 150}</p>").encode()
    with pytest.raises(IngestError, match="行目が長すぎます"):
        formats.read_document(page, "long.html")


def test_file_size_limit(monkeypatch):
    monkeypatch.setattr(formats, "MAX_FILE_BYTES", 1000)
    with pytest.raises(IngestError, match="ファイルが大きすぎます"):
        formats.read_document(make_docx(), "big.docx")


@pytest.mark.parametrize("env, attr, expected", [
    ({"KB_MAX_FILE_MB": "2"}, "MAX_FILE_BYTES", 2 * 1024 * 1024),
    ({"KB_MAX_UNZIPPED_MB": "0.5"}, "MAX_UNZIPPED_BYTES", 512 * 1024),
    ({}, "MAX_FILE_BYTES", 50 * 1024 * 1024),
    ({}, "MAX_UNZIPPED_BYTES", 100 * 1024 * 1024),
    ({"KB_MAX_FILE_MB": "abc"}, "MAX_FILE_BYTES", 50 * 1024 * 1024),
])
def test_limits_from_environment(env, attr, expected):
    code = f"from indexer.ingest import formats, sources; print(formats.{attr}, sources.MAX_FILE_BYTES)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KB_MAX_")}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env={**clean, **env},
                         capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) == expected
    if attr == "MAX_FILE_BYTES":
        assert int(out[1]) == expected


# --- readers: bad input → IngestError, never anything else -------------------------------------

_rng = random.Random(20250617)
_noise = [_rng.randbytes(n) for n in (0, 1, 17, 512, 4096, 65536)]
_good_docx = make_docx()
_good_pdf = make_pdf(PDF_PAGES)

BAD = [
    ("scanned.pdf", blank_pdf(), "PDF に文字情報がありません（スキャン画像の PDF は OCR してから追加してください）"),
    ("locked.pdf", encrypted_pdf(), "パスワードで保護された PDF"),
    ("truncated.pdf", _good_pdf[: len(_good_pdf) // 3], "PDF"),
    ("header-only.pdf", b"%PDF-1.7\n", "PDF"),
    ("truncated.docx", _good_docx[: len(_good_docx) // 2], "Word 文書（.docx）として読めませんでした"),
    ("not-word.docx", make_zip({"hello.txt": b"hi"}), "Word 文書（.docx）として読めませんでした"),
    ("broken-xml.docx", make_zip({n: (b"<not xml" if n == "word/document.xml" else zipfile.ZipFile(
        io.BytesIO(_good_docx)).read(n)) for n in zipfile.ZipFile(io.BytesIO(_good_docx)).namelist()}),
     "Word 文書（.docx）として読めませんでした"),
    ("text.docx", "これはテキストです".encode(), "Word 文書（.docx）として読めませんでした"),
    ("empty.docx", b"", "Word 文書"),
    ("empty.html", b"", "HTML"),
    ("nav-only.html", "<html><body><nav><a href='/'>ホーム</a><a href='/m'>サイトマップ</a></nav></body></html>".encode(),
     "HTML から本文を取り出せませんでした"),
    ("notags.html", "ただの文章です".encode(), "HTML ファイルとして読めませんでした"),
    ("binary.html", b"<html>" + bytes(range(256)) * 64, ""),
] + [
    (f"noise{i}{suffix}", data, "") for i, data in enumerate(_noise) for suffix in (".docx", ".pdf", ".html")
]
# random bytes behind a plausible header: an IngestError or (for a few HTML bytes) some text, nothing else
NOISY = [
    (f"noisy{i}{suffix}", prefix + data)
    for i, data in enumerate(_noise)
    for suffix, prefix in ((".docx", b"PK\x03\x04"), (".pdf", b"%PDF-1.4\n"), (".htm", b"<html><body><p>"))
]


@pytest.mark.parametrize("name, data, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_ingest_error_only(tmp_path, name, data, message):
    with pytest.raises(IngestError) as err:
        formats.read_document(data, name)
    assert message in str(err.value)
    assert "Traceback" not in str(err.value)
    (tmp_path / name).write_bytes(data)
    with pytest.raises(IngestError):
        load_document(tmp_path / name)


@pytest.mark.parametrize("name, data", NOISY, ids=[n[0] for n in NOISY])
def test_noise_behind_a_header_never_raises_anything_but_ingest_error(name, data):
    try:
        text, _, _ = formats.read_document(data, name)
    except IngestError as e:
        assert str(e)
    else:
        assert name.endswith(".htm") and text.strip()


def test_unsupported_message_lists_every_format(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(b"x")
    with pytest.raises(IngestError) as err:
        read_source(tmp_path / "a.xlsx")
    for suffix in (".txt", ".md", ".vtt", ".srt", ".html", ".htm", ".docx", ".pdf"):
        assert suffix in str(err.value)
    assert {".html", ".htm", ".docx", ".pdf"} <= SUPPORTED_SUFFIXES


# --- the real scraped page ---------------------------------------------------------------------


def seed_page() -> str:
    lines = [ln.strip() for ln in shared_path(SEED).read_text(encoding="utf-8").split("\n")]
    body = [ln for ln in lines if ln and ln not in SEED_BOILERPLATE and ln not in ("H1", "エディタV2")]
    paragraphs = "".join(f"<p>{ln}</p>" for ln in body)
    return html_page(paragraphs, title="自治体dX研究会 第4回レポート")


def test_real_seed_page_keeps_body_and_drops_navigation(tmp_path):
    page = seed_page()
    text, _, meta = formats.read_html(page.encode("utf-8"), "seed.html")
    assert "推進体制の整備" in text
    assert "日本初の自治体クラウドシステム内製化実現の経緯" in text
    for s in NAV_TEXTS:
        assert s not in text
    assert meta["title"] == "自治体dX研究会 第4回レポート"
    (tmp_path / "seed.html").write_text(page, encoding="utf-8")
    doc = load_document(tmp_path / "seed.html")
    joined = "\n".join(s.text for s in doc.segments)
    assert "推進体制の整備" in joined and "関連リンク" not in joined and "サイト内検索" not in joined
    assert doc.title == "自治体dX研究会 第4回レポート"


# --- full path: load_document and add_files ----------------------------------------------------

LOADS = [
    ("page.html", lambda: html_page(HTML_BODY).encode("utf-8"), "推進体制の整備", "㈱ベンダー"),
    ("page-sjis.htm", lambda: html_page(HTML_BODY, charset="shift_jis").encode("cp932"), "推進体制の整備",
     "㈱ベンダー"),
    ("minutes.docx", make_docx, "内製化の経緯", "日時 | 12月20日 | 火曜"),
    ("handout.pdf", lambda: make_pdf(PDF_PAGES), "推進体制の整備\n①人材の確保", "内製化の経緯"),
]


@pytest.mark.parametrize("name, make, first, other", LOADS, ids=[x[0] for x in LOADS])
def test_load_document(tmp_path, name, make, first, other):
    path = tmp_path / name
    path.write_bytes(make())
    doc = load_document(path)
    texts = [s.text for s in doc.segments]
    assert first in texts
    assert any(other in t for t in texts)
    assert doc.id == Path(name).stem
    assert doc.content_hash and doc.encoding
    assert not any(t.startswith("#") for t in texts)


def _snapshot(index: Index):
    kb = KnowledgeBase(index)
    hits = [(h.id, h.doc_id) for q in ("推進体制", "内製化", "人材") for h in kb.search(q, page_size=50).hits]
    return index.doc_ids(), hits


@pytest.mark.parametrize("bad", [b for b in BAD if b[0] in ("scanned.pdf", "truncated.docx", "binary.html",
                                                          "locked.pdf", "noise3.docx")], ids=lambda b: b[0])
def test_add_files_with_a_bad_file_leaves_index_unchanged(tmp_path, bad):
    good = tmp_path / "good.docx"
    good.write_bytes(make_docx())
    data = DataDir.at(tmp_path / "data")
    assert [r.status for r in add_files(data, [good])] == ["added"]
    before = _snapshot(Index(data.index))
    assert before[0] == ["good"] and before[1]

    bad_path = tmp_path / bad[0]
    bad_path.write_bytes(bad[1])
    other = tmp_path / "other.html"
    other.write_bytes(html_page(HTML_BODY).encode())
    for batch in ([bad_path], [other, bad_path]):
        results = add_files(data, batch)
        assert results[-1].status == "error" and results[-1].message
        assert _snapshot(Index(data.index)) == before


def test_docx_of_a_zip_version_zipfile_cannot_read_is_refused():
    data = bytearray(make_zip({"word/document.xml": b"<x/>"}))
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 6:cd + 8] = (64).to_bytes(2, "little")  # "version needed to extract": 6.4
    with pytest.raises(IngestError, match="読めませんでした"):
        formats.read_document(bytes(data), "x.docx")


def test_a_merged_table_cell_is_read_once(tmp_path):
    d = docx.Document()
    t = d.add_table(rows=2, cols=3)
    t.cell(0, 0).merge(t.cell(0, 2)).text = "第4回 研究会の日程"
    for c, value in enumerate(("日時", "12月16日", "火曜")):
        t.cell(1, c).text = value
    buf = io.BytesIO()
    d.save(buf)
    path = tmp_path / "merged.docx"
    path.write_bytes(buf.getvalue())
    text = read_source(path).text
    assert text.count("第4回 研究会の日程") == 1
    assert "日時 | 12月16日 | 火曜" in text
