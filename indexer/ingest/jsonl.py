"""Bulk import of JSONL speech turns: `{"id","title","text","speaker","date","meeting"[,"visibility"]}` per line.

Lines of one meeting (same `meeting` and `date`) become one transcript document whose segments
keep the lines' own ids, so search hits carry the ids of the file. In a meeting, a turn by a
numbered member (`百十六番（…君）`) asks a question and the executives' turns that follow answer it.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from indexer.errors import IngestError
from indexer.ingest.loading import fingerprint
from indexer.ingest.segments import MODERATOR_ROLES
from indexer.models import VISIBILITIES, Document, Segment
from indexer.text.speakers import normalize_name, parse_turn

_TEXTUAL = frozenset({str, type(None)})
_NUMBERED = re.compile(r"^[一二三四五六七八九十百千〇0-9０-９]+番$")
_ASSEMBLY_LABEL = re.compile(r"^(.+?)[（(](.+?)[）)]$")
_DOC_ID_JUNK = re.compile(r"[\s#/\\?%&]+")
#: The value parser `json.loads` uses (a decoder made with the same defaults), called at a position of a block of
#: lines; JSON's own whitespace (what `json.loads` skips after a value).
_scan_value = json.JSONDecoder().scan_once
_json_space = json.decoder.WHITESPACE.match
#: Bytes decoded at a time by the quick reading (whole lines: a block ends after a newline).
_BLOCK = 1 << 20


def _speaker(rec: dict, known: dict | None = None) -> tuple[str, str]:
    """(name, role) of a line's speaker; `known` remembers the answers by the line's speaker fields (a
    file names the same few hundred speakers again and again)."""
    key = (rec.get("speaker_name"), rec.get("speaker_role"), rec.get("speaker_position"), rec.get("speaker"))
    if known is not None and _TEXTUAL.issuperset(map(type, key)):  # other values: read each time
        found = known.get(key)
        if found is not None:
            return found
    else:
        known = None
    found = _read_speaker(rec)
    if known is not None:
        known[key] = found
    return found


def _read_speaker(rec: dict) -> tuple[str, str]:
    name = str(rec.get("speaker_name") or "").strip()
    role = str(rec.get("speaker_role") or rec.get("speaker_position") or "").strip()
    label = str(rec.get("speaker") or "").strip()
    if not name and label:
        m = _ASSEMBLY_LABEL.match(label)
        if m:
            role, name = role or m.group(1), normalize_name(m.group(2))[0]
        else:
            name, r = normalize_name(label)
            role = role or r
    elif name:
        name = normalize_name(name)[0]
    return name, role


def _is_question(role: str) -> bool:
    return bool(_NUMBERED.match(role)) or role in ("質問者", "委員", "議員")


def _is_moderator(role: str) -> bool:
    return role in MODERATOR_ROLES or role.endswith(("議長", "委員長"))


def link_meeting(segments: list[Segment]) -> None:
    """Questions and answers of a meeting: a numbered member asks; every other speaker who is not the
    chair answers the member's question block (a member's follow-up questions continue the block,
    until another member takes the floor).

    >>> segs = [Segment(0, "問", speaker="甲", speaker_role="一番"), Segment(1, "答", speaker="乙", speaker_role="知事"),
    ...         Segment(2, "再", speaker="甲", speaker_role="一番"), Segment(3, "答", speaker="丙", speaker_role="技監")]
    >>> link_meeting(segs); [(s.qa, s.answers_to) for s in segs]
    [('question', None), ('answer', 0), ('question', None), ('answer', 0)]
    """
    block: Segment | None = None
    for seg in segments:
        if _is_question(seg.speaker_role):
            seg.qa, seg.answers_to = "question", None
            if block is None or block.speaker != seg.speaker:
                block = seg
        elif block is not None and seg.speaker and not _is_moderator(seg.speaker_role):
            seg.qa, seg.answers_to = "answer", block.order


def read_jsonl(path: str | Path, max_line_chars: int = 2_000_000,
               data: bytes | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-empty line; a bad line stops with its number. `data`: the file's
    bytes, when already read (read as the file would be)."""
    path = Path(path)
    try:
        fh = path.open("r", encoding="utf-8-sig") if data is None else io.TextIOWrapper(io.BytesIO(data), "utf-8-sig")
    except OSError:
        raise IngestError(f"ファイルが見つかりません: {path}") from None
    with fh:
        try:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                if len(line) > max_line_chars:
                    raise IngestError(f"{path.name} {n} 行目が長すぎます（{len(line):,} 文字）。")
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise IngestError(f"{path.name} {n} 行目が JSON として読めません: {e.msg}") from None
                if not isinstance(rec, dict) or not str(rec.get("id", "")).strip() or "text" not in rec:
                    raise IngestError(f"{path.name} {n} 行目に id と text がありません。")
                yield n, rec
        except UnicodeDecodeError:
            raise IngestError(f"{path.name} は UTF-8 の JSONL ではありません。") from None


def _blocks(read: Callable[[int], bytes]) -> Iterator[str]:
    """The text `read(size)` gives, in blocks of whole lines with their newlines read as a text file reads
    them (`\r\n` and `\r` as `\n`); a UTF-8 BOM at the start dropped. UnicodeDecodeError on bytes that are
    not UTF-8."""
    encoding, rest = "utf-8-sig", b""
    while True:
        chunk = read(_BLOCK)
        buf = rest + chunk if rest else chunk
        cut = buf.rfind(b"\n") + 1 if chunk else len(buf)
        if not cut and chunk:
            if len(buf) > 16 * _BLOCK:  # a line longer than any good line: read it the slow way
                raise ValueError("long line")
            rest = buf
            continue
        rest = buf[cut:]
        text = buf[:cut].decode(encoding)
        encoding = "utf-8"
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text:
            yield text
        if not chunk:
            return


def _quick_records(path: Path, data: bytes | None, max_line_chars: int = 2_000_000) -> Iterator[tuple[int, dict]]:
    """`read_jsonl`'s records of a good file, read faster (in blocks, each value parsed where it stands, without
    a copy of its line). A line `read_jsonl` refuses raises here too, without its message: on any error, read
    the file again with `read_jsonl` for the message of its first bad line."""
    n = 0
    with (open(path, "rb") if data is None else io.BytesIO(data)) as fh:
        for text in _blocks(fh.read):
            pos, size = 0, len(text)
            while pos < size:
                end = text.find("\n", pos)
                if end < 0:
                    end = size
                n += 1
                if text[pos] == "{":  # the usual line: the value ends on its line, then only JSON's whitespace
                    if (end + 1 if end < size else end) - pos > max_line_chars:
                        raise ValueError("long line")
                    rec, stop = _scan_value(text, pos)
                    if stop > end or _json_space(text, stop).end() < end:
                        raise ValueError("not one value")
                else:
                    line = text[pos:end + 1]
                    pos = end + 1
                    if not line.strip():
                        continue
                    if len(line) > max_line_chars:
                        raise ValueError("long line")
                    rec = json.loads(line)
                pos = end + 1
                if not isinstance(rec, dict) or not str(rec.get("id", "")).strip() or "text" not in rec:
                    raise ValueError("no id or text")
                yield n, rec


def documents_from_jsonl(path: str | Path, default_visibility: str = "public",
                         data: bytes | None = None) -> list[Document]:
    """Group the lines into documents (one per meeting, or one per line without a meeting). `data`: the
    file's bytes, when already read (read instead of the file)."""
    path = Path(path)
    try:
        return _documents(path, default_visibility, _quick_records(path, data))
    except Exception:  # noqa: BLE001 - a bad file (or an unreadable one): its first error, as read line by line
        pass
    return _documents(path, default_visibility, read_jsonl(path, data=data))


def _documents(path: Path, default_visibility: str, records: Iterator[tuple[int, dict]]) -> list[Document]:
    docs: dict[str, Document] = {}
    seen_ids: set[str] = set()
    speakers: dict = {}
    doc_ids: dict[tuple[str, str], str] = {}  # (date, meeting) → its document's id
    source = path.name
    for n, rec in records:
        rid = str(rec["id"]).strip()
        if rid in seen_ids:
            raise IngestError(f"{source} {n} 行目: id「{rid}」が重複しています。")
        seen_ids.add(rid)
        visibility = str(rec.get("visibility") or default_visibility)
        if visibility not in VISIBILITIES:
            raise IngestError(f"{source} {n} 行目: visibility は public か members です: {visibility}")
        meeting = str(rec.get("meeting") or "").strip()
        date = str(rec.get("date") or "").strip()
        if meeting:
            doc_id = doc_ids.get((date, meeting))
            if doc_id is None:
                doc_id = doc_ids[date, meeting] = _DOC_ID_JUNK.sub("-", f"{date}-{meeting}")[:120]
        else:
            doc_id = _DOC_ID_JUNK.sub("-", rid)[:120]
        doc = docs.get(doc_id)
        if doc is None:
            title = str(rec.get("title") or meeting or rid)
            doc = docs[doc_id] = Document(id=doc_id, type="transcript" if meeting else "report", title=title,
                                          source=source, visibility="public", date=date, meeting=meeting)
        name, role = _speaker(rec, speakers)
        text = str(rec.get("text") or "")
        turn = parse_turn(text) if text.startswith(("○", "◯")) else None
        if turn is not None:
            name, role = name or turn.name, role or turn.role
        # Segment(order, text, speaker, speaker_role, part, start, end, visibility, qa, answers_to,
        # speaker_reading, key): given by position (by keyword the call takes twice as long)
        doc.segments.append(Segment(len(doc.segments), text, name, role, "qa" if meeting else "report", None, None,
                                    visibility, "", None, str(rec.get("speaker_yomi") or ""), rid))
    out = []
    for doc in docs.values():
        if any(s.visibility == "members" for s in doc.segments) and all(s.visibility == "members" for s in doc.segments):
            doc.visibility = "members"
        link_meeting(doc.segments)
        doc.fingerprint = fingerprint(doc, plain=True)
        out.append(doc)
    return out
