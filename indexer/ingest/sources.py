"""Read files into decoded text: encodings, BOM, CRLF, NUL bytes, front matter, subtitles.

>>> decode("内製化".encode("cp932"))[0]
'内製化'
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from indexer.errors import IngestError
from indexer.ingest.encoding import clean_newlines, decode  # noqa: F401 - decode is part of this module's API
from indexer.ingest.formats import DOCUMENT_SUFFIXES, MAX_FILE_BYTES, check_lines, read_document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
CAPTION_SUFFIXES = {".vtt", ".srt"}
_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)


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
