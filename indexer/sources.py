"""Read files into decoded text: encodings, BOM, CRLF, NUL bytes, front matter, subtitles.

>>> decode("内製化".encode("cp932"))[0]
'内製化'
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import IngestError
from .formats import DOCUMENT_SUFFIXES, MAX_FILE_BYTES, check_lines, read_document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
CAPTION_SUFFIXES = {".vtt", ".srt"}
_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)
_CANDIDATES = ("utf_8", "cp932", "euc_jp", "iso2022_jp")


@dataclass
class Cue:
    """One subtitle cue."""

    start: float
    end: float
    speaker: str
    text: str


@dataclass
class Source:
    """A decoded file: its text (front matter removed), metadata and, for subtitles, cues.

    `meta` is what the file states (front matter); `derived` is what a reader guessed (an HTML page's
    <title>), which the catalogue overrides.
    """

    path: str
    text: str
    encoding: str
    meta: dict = field(default_factory=dict)
    cues: list[Cue] | None = None
    content_hash: str = ""
    derived: dict = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return Path(self.path).stem


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of a Japanese text file, returning (text, encoding name).

    UTF-8 (with or without BOM), UTF-16 with BOM, CP932 (not shift_jis: ①, ㈱), EUC-JP, ISO-2022-JP.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _clean(data[3:].decode("utf-8", errors="replace")), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _clean(data.decode("utf-16", errors="replace")), "utf-16"
    nul = data.count(b"\x00")
    if nul and nul > max(16, len(data) // 100):
        raise IngestError("バイナリファイルのようです（NUL 文字が多数含まれています）。テキスト・字幕・文書ファイルを指定してください。")
    data = data.replace(b"\x00", b"")
    try:
        return _clean(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _detect(data)
    if encoding is None:
        head = data[:65536]
        if sum(1 for b in head if b < 9 or 13 < b < 32) > len(head) // 100:
            raise IngestError("バイナリファイルのようです（制御文字が多数含まれています）。テキスト・字幕・文書ファイルを指定してください。")
        raise IngestError("文字コードを判別できませんでした（UTF-8 / CP932 / EUC-JP のいずれでもありません）。")
    return _clean(data.decode(encoding)), encoding


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(_CANDIDATES)).best()
    candidates = ([best.encoding] if best else []) + list(_CANDIDATES)
    for enc in candidates:
        enc = "cp932" if enc in ("shift_jis", "sjis", "cp932", "ms932") else enc
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_like_text(text):
            return enc
    return None


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\t\n\r\f") or 0xE000 <= ord(c) <= 0xF8FF)
    return bad <= len(text) // 200


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def split_front_matter(text: str) -> tuple[dict, str]:
    """Split YAML front matter (between `---` lines) from the body.

    >>> split_front_matter("---\\nsession: 4\\n---\\n本文")
    ({'session': 4}, '本文')
    """
    m = _FRONT.match(text)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        where = f"（{line + 2} 行目付近）" if line is not None else ""
        raise IngestError(f"先頭のメタデータ（front matter）の書式が正しくありません{where}。") from None
    if not isinstance(meta, dict):
        raise IngestError("先頭のメタデータ（front matter）は「キー: 値」の形式で書いてください。")
    return meta, text[m.end():]


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a file, refusing missing, non-regular or too large files with a clear message."""
    try:
        size = path.stat().st_size
    except OSError:
        raise IngestError(f"ファイルが見つかりません: {path}") from None
    if not path.is_file():
        raise IngestError(f"通常のファイルではありません: {path}")
    if size > max_bytes:
        raise IngestError(f"ファイルが大きすぎます（{size / 1e6:.1f} MB、上限 {max_bytes / 1e6:.0f} MB）: {path.name}")
    return path.read_bytes()


def read_source(path: str | Path, data: bytes | None = None) -> Source:
    """Read and decode one file by its suffix (.txt/.md with front matter, .vtt, .srt, .html, .docx, .pdf)."""
    path = Path(path)
    if data is None:
        data = read_bytes(path)
    elif len(data) > MAX_FILE_BYTES:
        raise IngestError(f"ファイルが大きすぎます（{len(data) / 1e6:.1f} MB、上限 {MAX_FILE_BYTES / 1e6:.0f} MB）: {path.name}")
    suffix = path.suffix.lower()
    digest = hashlib.sha256(data).hexdigest()
    if suffix in DOCUMENT_SUFFIXES:
        text, label, meta = read_document(data, str(path))
        return Source(str(path), text, label, {}, None, digest, derived=meta)
    if suffix in TEXT_SUFFIXES:
        text, encoding = decode(data)
        check_lines(text)
        meta, body = split_front_matter(text)
        return Source(str(path), body, encoding, meta, None, digest)
    if suffix in CAPTION_SUFFIXES:
        text, encoding = decode(data)
        check_lines(text)
        cues = read_captions(text, "srt" if suffix == ".srt" else "vtt")
        return Source(str(path), "\n".join(c.text for c in cues), encoding, {}, cues, digest)
    raise IngestError(f"対応していないファイル形式です: {path.suffix or '(拡張子なし)'}（対応: .txt .md .markdown .vtt .srt .html .htm .docx .pdf）")


_ZOOM_SPEAKER = re.compile(r"^([^\s:：<>]{1,20}(?:[ 　][^\s:：<>]{1,10})?)\s*[:：]\s*(.+)$", re.S)


def read_captions(text: str, fmt: str = "vtt") -> list[Cue]:
    """Parse WebVTT/SRT text with webvtt-py; speakers from `<v 名前>` tags or `名前: ` prefixes."""
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        captions = webvtt.WebVTT.from_buffer(io.StringIO(text), format=fmt).captions
    except (MalformedFileError, MalformedCaptionError, ValueError) as e:
        kind = "WebVTT" if fmt == "vtt" else "SRT"
        raise IngestError(f"{kind} 字幕として読めませんでした: {e}") from None
    cues = []
    for c in captions:
        body = c.text.strip()
        speaker = (c.voice or "").strip()
        if not speaker:
            m = _ZOOM_SPEAKER.match(body)
            if m:
                speaker, body = m.group(1), m.group(2).strip()
        if body:
            cues.append(
                Cue(c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000, speaker, body)
            )
    if not cues:
        raise IngestError("字幕ファイルに字幕（キュー）が一つもありません。")
    return cues
