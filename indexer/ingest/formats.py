"""Readers for document formats (.html/.htm, .docx, .pdf) and size limits for every input.

Each reader takes the file's bytes and returns (text, encoding or format label, meta). The text is
Markdown-like — headings as `## ` lines, paragraphs separated by blank lines — so the ordinary
segmenter (`segments.build_document`) splits it. Every failure is an `IngestError` with a Japanese
message; no other exception escapes a reader.

Limits (module constants, read once at import; the env vars override the defaults):

- `MAX_FILE_BYTES`: `KB_MAX_FILE_MB` (default 50 MB), size of any input file.
- `MAX_UNZIPPED_BYTES`: `KB_MAX_UNZIPPED_MB` (default 100 MB), total uncompressed size of a .docx.
- `MAX_ZIP_ENTRIES`: entries in a .docx (default 10,000).
- `MAX_LINE_CHARS`: characters in one line of extracted or decoded text (default 1,000,000).

>>> read_html("<title>報告</title><main><h1>報告</h1><p>本文です。</p></main>".encode(), "a.html")[0]
'## 報告\\n\\n本文です。'
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile

from indexer.errors import IngestError
from indexer.ingest.encoding import clean_newlines, decode

HTML_SUFFIXES = {".html", ".htm"}
DOCX_SUFFIXES = {".docx"}
PDF_SUFFIXES = {".pdf"}
DOCUMENT_SUFFIXES = HTML_SUFFIXES | DOCX_SUFFIXES | PDF_SUFFIXES

_MB = 1024 * 1024


def _env_mb(name: str, default_mb: float) -> int:
    raw = os.environ.get(name, "").strip()
    if raw:
        try:
            value = float(raw)
            if value > 0:
                return int(value * _MB)
        except ValueError:
            pass
        warnings.warn(f"{name}={raw!r} is not a positive number of MB; using {default_mb} MB", stacklevel=2)
    return int(default_mb * _MB)


MAX_FILE_BYTES = _env_mb("KB_MAX_FILE_MB", 50)
MAX_UNZIPPED_BYTES = _env_mb("KB_MAX_UNZIPPED_MB", 100)
MAX_ZIP_ENTRIES = 10_000
MAX_LINE_CHARS = 1_000_000

_HEADING_STYLES = ("heading", "見出し", "title", "表題")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_CHARSET_ALIASES = {"shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
                    "windows-31j": "cp932", "ms932": "cp932", "cp932": "cp932", "euc-jp": "euc_jp",
                    "euc_jp": "euc_jp", "x-euc-jp": "euc_jp", "utf-8": "utf-8", "utf8": "utf-8",
                    "iso-2022-jp": "iso2022_jp"}
_WS = re.compile(r"[ \t\u3000\xa0]+")


def check_size(data: bytes, name: str = "") -> None:
    """Refuse inputs larger than `MAX_FILE_BYTES`."""
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(
            f"ファイルが大きすぎます（{len(data) / 1e6:.1f} MB、上限 {MAX_FILE_BYTES / 1e6:.0f} MB）: {name}"
            "（上限は環境変数 KB_MAX_FILE_MB で変えられます）"
        )


def check_lines(text: str) -> str:
    """Refuse text with a line longer than `MAX_LINE_CHARS` (a binary or minified file, most likely)."""
    if len(text) > MAX_LINE_CHARS:
        for n, line in enumerate(text.split("\n"), 1):
            if len(line) > MAX_LINE_CHARS:
                raise IngestError(
                    f"{n} 行目が長すぎます（{len(line):,} 文字、上限 {MAX_LINE_CHARS:,} 文字）。"
                    "改行のないデータやバイナリではないか確認してください。"
                )
    return text


def read_document(data: bytes, path: str) -> tuple[str, str, dict]:
    """Dispatch on the suffix of `path` to the HTML, DOCX or PDF reader."""
    suffix = os.path.splitext(path)[1].lower()
    check_size(data, os.path.basename(path))
    if suffix in HTML_SUFFIXES:
        text, label, meta = read_html(data, path)
    elif suffix in DOCX_SUFFIXES:
        text, label, meta = read_docx(data, path)
    elif suffix in PDF_SUFFIXES:
        text, label, meta = read_pdf(data, path)
    else:
        raise IngestError(f"対応していない文書形式です: {suffix or '(拡張子なし)'}")
    return check_lines(text), label, meta


def _join(blocks: list[str]) -> str:
    return "\n\n".join(b for b in blocks if b.strip())


def _one_line(text: str) -> str:
    return _WS.sub(" ", text.replace("\n", " ")).strip()


# --- HTML ---------------------------------------------------------------------------------------


def decode_html(data: bytes) -> tuple[str, str]:
    """Decode HTML bytes: UTF-8 if valid, else the declared `<meta charset>` if it decodes, else detection."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        m = _META_CHARSET.search(data[:4096])
        enc = _CHARSET_ALIASES.get(m.group(1).decode("ascii", "replace").lower()) if m else None
        if enc and b"\x00" not in data:
            try:
                return clean_newlines(data.decode(enc)), enc
            except UnicodeDecodeError:
                pass
    return decode(data)


def _html_title(tree) -> str:
    for xpath in ("//title", "//h1"):
        for el in tree.xpath(xpath):
            title = _one_line(el.text_content() if hasattr(el, "text_content") else "".join(el.itertext()))
            if title:
                return title
    return ""


def _xml_text(el) -> str:
    """Text of a trafilatura XML element, `<lb/>` as a newline."""
    parts = [el.text or ""]
    for child in el:
        parts.append("\n" if child.tag == "lb" else _xml_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _lines(text: str) -> str:
    return "\n".join(s for s in (_WS.sub(" ", ln).strip() for ln in text.split("\n")) if s)


def _xml_blocks(main) -> list[str]:
    blocks: list[str] = []
    for el in main:
        if el.tag == "head":
            heading = _one_line(_xml_text(el))
            if heading:
                blocks.append(f"## {heading}")
        elif el.tag == "list":
            items = [_one_line(_xml_text(i)) for i in el.iter("item")]
            blocks.append("\n".join(i for i in items if i))
        elif el.tag == "table":
            for row in el.iter("row"):
                cells = [_one_line(_xml_text(c)) for c in row.iter("cell")]
                if any(cells):
                    blocks.append(" | ".join(cells))
        else:
            blocks.append(_lines(_xml_text(el)))
    return blocks


def read_html(data: bytes, path: str) -> tuple[str, str, dict]:
    """Main text of a web page (navigation, search boxes, link lists dropped) via trafilatura."""
    import logging

    import trafilatura
    from lxml import etree
    from trafilatura.settings import use_config

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    html, encoding = decode_html(data)
    if "<" not in html:
        raise IngestError("HTML ファイルとして読めませんでした（タグが見つかりません）。")
    try:
        tree = trafilatura.load_html(html)
        if tree is None:  # a fragment without <html>/<body>
            tree = trafilatura.load_html(f"<html><body>{html}</body></html>")
        if tree is None:
            raise IngestError("HTML ファイルとして読めませんでした。")
        title = _html_title(tree)
        config = use_config()
        config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
        config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
        xml = trafilatura.extract(tree, output_format="xml", include_tables=True, include_comments=False,
                                  include_images=False, include_links=False, favor_recall=True, config=config)
        main = etree.fromstring(xml.encode("utf-8")).find("main") if xml else None
        text = _join(_xml_blocks(main)) if main is not None else ""
    except IngestError:
        raise
    except Exception as e:  # noqa: BLE001 - parsers of untrusted input: any failure is the file's fault
        raise IngestError(f"HTML ファイルとして読めませんでした（{type(e).__name__}）。") from None
    if not text.strip():
        raise IngestError("HTML から本文を取り出せませんでした（本文らしい文章がありません）。")
    return text, encoding, ({"title": title} if title else {})


# --- DOCX ---------------------------------------------------------------------------------------


def check_zip(data: bytes, kind: str = "Word 文書（.docx）") -> None:
    """Refuse non-zip data and zip bombs (too many entries or too large when uncompressed).

    `zipfile` never inflates an entry beyond its declared size, so checking the declared sizes is enough.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    # RuntimeError: NotImplementedError for a zip version `zipfile` does not read
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError):
        raise IngestError(f"{kind}として読めませんでした（ファイルが壊れているか、別の形式です）。") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise IngestError(f"{kind}の中のファイル数が多すぎます（{len(infos):,} 個、上限 {MAX_ZIP_ENTRIES:,} 個）。")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise IngestError(
            f"{kind}の展開後のサイズが大きすぎます（{total / 1e6:.1f} MB、上限 {MAX_UNZIPPED_BYTES / 1e6:.0f} MB）。"
            "（上限は環境変数 KB_MAX_UNZIPPED_MB で変えられます）"
        )


def _style_name(paragraph) -> str:
    try:
        return (paragraph.style.name or "") if paragraph.style is not None else ""
    except Exception:  # noqa: BLE001 - a broken style reference is not worth rejecting the file
        return ""


def _docx_blocks(document) -> list[str]:
    from docx.table import Table

    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells: list[str] = []
                row_cells = row.cells
                i = 0
                while i < len(row_cells):  # a merged cell repeats across its span: read it once
                    cell = row_cells[i]
                    cells.append(_one_line(cell.text))
                    i += max(1, cell.grid_span)
                if any(cells):
                    blocks.append(" | ".join(cells))
            continue
        text = item.text
        if not text.strip():
            continue
        style = _style_name(item).strip().lower()
        if style.startswith(_HEADING_STYLES):
            blocks.append(f"## {_one_line(text)}")
        else:
            blocks.append(_lines(text))
    return blocks


def read_docx(data: bytes, path: str) -> tuple[str, str, dict]:
    """Paragraphs and tables of a Word document, in order; heading styles become `## ` lines."""
    check_zip(data)
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
        text = _join(_docx_blocks(document))
    except Exception as e:  # noqa: BLE001 - parsers of untrusted input: any failure is the file's fault
        raise IngestError(
            f"Word 文書（.docx）として読めませんでした（{type(e).__name__}）。"
            "Word で開けるか、.doc ではなく .docx で保存されているか確認してください。"
        ) from None
    if not text.strip():
        raise IngestError("Word 文書に本文がありません。")
    return text, "docx", {}


# --- PDF ----------------------------------------------------------------------------------------


def read_pdf(data: bytes, path: str) -> tuple[str, str, dict]:
    """The text layer of a PDF, pages separated by blank lines."""
    import logging

    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:  # noqa: BLE001
                ok = 0
            if not ok:
                raise IngestError("パスワードで保護された PDF は読めません。保護を解除した PDF を追加してください。")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except Exception as e:  # noqa: BLE001 - parsers of untrusted input: any failure is the file's fault
        raise IngestError(f"PDF として読めませんでした（ファイルが壊れているか、別の形式です: {type(e).__name__}）。") from None
    if not pages:
        raise IngestError("PDF にページがありません。")
    text = _join([_lines(p) for p in pages])
    if not text.strip():
        raise IngestError("PDF に文字情報がありません（スキャン画像の PDF は OCR してから追加してください）")
    return text, "pdf", {}
