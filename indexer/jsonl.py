"""Bulk import of JSONL speech turns: `{"id","title","text","speaker","date","meeting"[,"visibility"]}` per line.

Lines of one meeting (same `meeting` and `date`) become one transcript document whose segments
keep the lines' own ids, so search hits carry the ids of the file. In a meeting, a turn by a
numbered member (`百十六番（…君）`) asks a question and the executives' turns that follow answer it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from .errors import IngestError
from .ingest import fingerprint
from .models import VISIBILITIES, Document, Segment
from .segments import link_questions
from .speakers import normalize_name, parse_turn

_NUMBERED = re.compile(r"^[一二三四五六七八九十百千〇0-9０-９]+番$")
_ASSEMBLY_LABEL = re.compile(r"^(.+?)[（(](.+?)[）)]$")
ANSWER_ROLES = ("知事", "副知事", "教育長", "局長", "本部長", "部長", "大臣", "副大臣", "政務官", "参考人",
                "長官", "総裁", "市長", "町長", "村長", "室長", "理事者", "ゲスト")


def _speaker(rec: dict) -> tuple[str, str]:
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


def _is_answer(role: str) -> bool:
    return any(role.endswith(r) for r in ANSWER_ROLES) and not role.endswith("議長")


def read_jsonl(path: str | Path, max_line_chars: int = 2_000_000) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each non-empty line; a bad line stops with its number."""
    path = Path(path)
    try:
        fh = path.open("r", encoding="utf-8-sig")
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


def documents_from_jsonl(path: str | Path, default_visibility: str = "public") -> list[Document]:
    """Group the lines into documents (one per meeting, or one per line without a meeting)."""
    docs: dict[str, Document] = {}
    seen_ids: set[str] = set()
    for n, rec in read_jsonl(path):
        rid = str(rec["id"]).strip()
        if rid in seen_ids:
            raise IngestError(f"{Path(path).name} {n} 行目: id「{rid}」が重複しています。")
        seen_ids.add(rid)
        visibility = str(rec.get("visibility") or default_visibility)
        if visibility not in VISIBILITIES:
            raise IngestError(f"{Path(path).name} {n} 行目: visibility は public か members です: {visibility}")
        meeting = str(rec.get("meeting") or "").strip()
        date = str(rec.get("date") or "").strip()
        doc_id = f"{date}-{meeting}" if meeting else rid
        doc_id = re.sub(r"[\s#/\\?%&]+", "-", doc_id)[:120]
        doc = docs.get(doc_id)
        if doc is None:
            title = str(rec.get("title") or meeting or rid)
            doc = docs[doc_id] = Document(id=doc_id, type="transcript" if meeting else "report", title=title,
                                          source=Path(path).name, visibility="public", date=date, meeting=meeting)
        name, role = _speaker(rec)
        text = str(rec.get("text") or "")
        turn = parse_turn(text) if text.startswith(("○", "◯")) else None
        if turn is not None:
            name, role = name or turn.name, role or turn.role
        doc.segments.append(Segment(order=len(doc.segments), text=text, speaker=name, speaker_role=role,
                                    part="qa" if meeting else "report", visibility=visibility, key=rid,
                                    speaker_reading=str(rec.get("speaker_yomi") or "")))
    out = []
    for doc in docs.values():
        if any(s.visibility == "members" for s in doc.segments) and all(s.visibility == "members" for s in doc.segments):
            doc.visibility = "members"
        for s in doc.segments:
            if _is_question(s.speaker_role):
                s.qa = "question"
            elif _is_answer(s.speaker_role):
                s.qa = "answer"
        link_questions(doc.segments, set(), [])
        doc.fingerprint = fingerprint(doc)
        out.append(doc)
    return out
