"""Turn a decoded source into a Document: metadata, parts, speaker turns and Q&A links.

>>> doc = build_document(Source("s.md", "## 質疑応答\\nQ：（西浜市 田村）費用は？\\nA：下がりました。", "utf-8"),
...                      overrides={"type": "transcript", "visibility": "public"})
>>> [(s.qa, s.answers_to) for s in doc.segments]
[('question', None), ('answer', 0)]
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from indexer.errors import IngestError
from indexer.ingest.catalogue import Catalogue
from indexer.ingest.sources import Source
from indexer.models import DOC_TYPES, PARTS, TYPE_LABELS, VISIBILITIES, Document, Segment
from indexer.text.speakers import normalize_name, parse_turn

_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_PART_WORDS = (
    ("discussion", ("ディスカッション", "意見交換", "討議", "座談", "フリートーク")),
    ("qa", ("質疑", "質問", "Q&A", "Ｑ＆Ａ", "QA")),
    ("guest_talk", ("ゲスト", "講演", "事例紹介", "基調")),
    ("lecture", ("講義", "読み解き", "座長")),
)
_PART_ALIASES = {"講義": "lecture", "ゲスト講演": "guest_talk", "質疑応答": "qa", "ディスカッション": "discussion",
                 "報告": "report", "レポート": "report"}
MAX_CAPTION_TURN_CHARS = 600
MODERATOR_ROLES = frozenset({"事務局", "事務局長", "司会", "議長", "副議長", "委員長"})


def part_of_heading(heading: str) -> str | None:
    """The session part a heading names, or None.

    >>> part_of_heading("質疑応答")
    'qa'
    """
    for part, words in _PART_WORDS:
        if any(w in heading for w in words):
            return part
    return None


def _as_part(value: object) -> str:
    v = str(value)
    v = _PART_ALIASES.get(v, v)
    if v not in PARTS:
        raise IngestError(f"part の値が正しくありません: {value}（{', '.join(PARTS)} のいずれか）")
    return v


def _metadata(source: Source, catalogue: Catalogue, overrides: dict | None) -> dict:
    meta = {**source.derived, **catalogue.file_meta(source.path), **source.meta}
    meta.update({k: v for k, v in (overrides or {}).items() if v is not None and v != ""})
    return meta


def _check_date(value: object) -> str:
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()[:10]
    s = str(value).strip()
    try:
        return _dt.date.fromisoformat(s).isoformat()
    except ValueError:
        raise IngestError(f"日付の形式が正しくありません: {s}（例: 2025-06-17）") from None


def _doc_id(value: str) -> str:
    doc_id = re.sub(r"[\s#/\\?%&]+", "-", str(value)).strip("-.")
    if not doc_id:
        raise IngestError("文書 ID が空です。front matter の id か --id で指定してください。")
    return doc_id[:120]


def build_document(source: Source, catalogue: Catalogue | None = None, overrides: dict | None = None) -> Document:
    """Build a Document (metadata + segments) from a decoded source."""
    catalogue = catalogue or Catalogue()
    meta = _metadata(source, catalogue, overrides)
    session = meta.get("session")
    if session is not None:
        try:
            session = int(session)
        except (TypeError, ValueError):
            raise IngestError(f"回（session）は数字で指定してください: {session}") from None
    info = catalogue.session(session)
    turns_present = source.cues is not None or _count_turns(source.text) >= 2
    doc_type = str(meta.get("type") or ("transcript" if turns_present else "report"))
    if doc_type not in DOC_TYPES:
        raise IngestError(f"種類（type）は report か transcript です: {doc_type}")
    visibility = str(meta.get("visibility") or ("members" if doc_type == "transcript" else "public"))
    if visibility not in VISIBILITIES:
        raise IngestError(f"公開範囲（visibility）は public か members です: {visibility}")
    date = _check_date(meta["date"]) if meta.get("date") else (info.date if info else "")
    if info and info.title:
        label = TYPE_LABELS.get(doc_type, doc_type)
        default_title = f"{info.title if info.title.startswith('第') else f'第{session}回 {info.title}'}（{label}）"
    else:
        default_title = Path(source.path).stem
    doc = Document(
        id=_doc_id(meta.get("id") or catalogue.default_id(source.path)),
        session=session,
        type=doc_type,
        title=str(meta.get("title") or default_title),
        source=Path(source.path).name,
        visibility=visibility,
        date=date,
        meeting=str(meta.get("meeting", "") or ""),
        encoding=source.encoding,
        content_hash=source.content_hash,
    )
    default_part = _as_part(meta["part"]) if meta.get("part") else ("report" if doc_type == "report" else "other")
    if source.cues is not None:
        doc.segments = _caption_segments(source, default_part)
    elif doc_type == "report":
        doc.segments = _report_segments(source.text, default_part)
    else:
        doc.segments = _transcript_segments(source.text, default_part)
    members_parts = {_as_part(p) for p in meta.get("members_only_parts") or []}
    for seg in doc.segments:
        seg.visibility = "members" if visibility == "members" or seg.part in members_parts else "public"
        if seg.speaker:
            seg.speaker, seg.speaker_role = catalogue.directory.resolve(seg.speaker, seg.speaker_role)
    merge_short_names(doc.segments)
    link_questions(doc.segments, catalogue.answerers(session), info.guests if info else [], catalogue)
    if not doc.segments:
        raise IngestError("本文が空です（索引に入れる文章がありません）。")
    return doc


def merge_short_names(segments: list[Segment]) -> None:
    """Within one document, a surname alone (大久保) becomes the one full name it starts (大久保光伸).

    >>> segs = [Segment(0, "a", speaker="大久保光伸"), Segment(1, "b", speaker="大久保")]
    >>> merge_short_names(segs); [s.speaker for s in segs]
    ['大久保光伸', '大久保光伸']
    """
    names = {s.speaker for s in segments if s.speaker}
    for short in names:
        longer = [n for n in names if n != short and n.startswith(short)]
        if len(longer) == 1:
            for s in segments:
                if s.speaker == short:
                    s.speaker = longer[0]


def _count_turns(text: str) -> int:
    n = 0
    for line in text.split("\n"):
        if line.strip() and parse_turn(line) is not None:
            n += 1
            if n >= 2:
                break
    return n


def _blocks(text: str):
    """(heading or None, paragraph) pairs; paragraphs are blank-line separated."""
    para: list[str] = []
    for line in text.split("\n"):
        m = _HEADING.match(line.strip())
        if m:
            if para:
                yield None, "\n".join(para)
                para = []
            yield m.group(1), ""
        elif line.strip():
            para.append(line.rstrip())
        elif para:
            yield None, "\n".join(para)
            para = []
    if para:
        yield None, "\n".join(para)


def _report_segments(text: str, part: str) -> list[Segment]:
    segs: list[Segment] = []
    for heading, para in _blocks(text):
        body = heading if heading is not None else para.strip()
        if body:
            segs.append(Segment(order=len(segs), text=body, part=part))
    return segs


def _transcript_segments(text: str, part: str) -> list[Segment]:
    segs: list[Segment] = []
    current: Segment | None = None
    for heading, para in _blocks(text):
        if heading is not None:
            part = part_of_heading(heading) or part
            current = None
            continue
        for line in para.split("\n"):
            turn = parse_turn(line)
            if turn is not None:
                current = Segment(order=len(segs), text=turn.text.strip(), speaker=turn.name,
                                  speaker_role=turn.role, part=part, qa=turn.qa)
                segs.append(current)
            elif current is not None:
                current.text = f"{current.text}\n{line.strip()}" if current.text else line.strip()
            else:
                current = Segment(order=len(segs), text=line.strip(), part=part)
                segs.append(current)
        if current is not None and current.speaker == "":
            current = None  # an unattributed paragraph does not swallow the next one
    return _renumber(segs)


def _renumber(segs: list[Segment]) -> list[Segment]:
    kept = [s for s in segs if s.text.strip()]
    for i, s in enumerate(kept):
        s.order = i
    return kept


def _caption_segments(source: Source, part: str) -> list[Segment]:
    segs: list[Segment] = []
    for cue in source.cues or []:
        name, role = normalize_name(cue.speaker) if cue.speaker else ("", "")
        last = segs[-1] if segs else None
        same = last is not None and last.speaker == name and last.speaker_role == role
        if same and (name or len(last.text) + len(cue.text) <= MAX_CAPTION_TURN_CHARS):
            last.text = f"{last.text}\n{cue.text}"
            last.end = cue.end
        else:
            segs.append(Segment(order=len(segs), text=cue.text, speaker=name, speaker_role=role,
                                part=part, start=cue.start, end=cue.end))
    return segs


def link_questions(segments: list[Segment], answerers: set[str], guests: list[str],
                   catalogue: Catalogue | None = None) -> None:
    """Mark questions and link each answer to the question it follows.

    Explicit Q/A markers win; inside a Q&A part, turns by the chair or a guest answer the last
    question and turns by anyone else ask one.
    """
    question: Segment | None = None
    lone_guest = ""
    if catalogue is not None and len(guests) == 1:
        lone_guest = catalogue.directory.resolve(*normalize_name(guests[0]))[0]
    for seg in segments:
        moderator = seg.speaker_role in MODERATOR_ROLES
        if seg.qa == "question" or (not seg.qa and seg.part == "qa" and seg.speaker and not moderator
                                    and seg.speaker not in answerers):
            seg.qa, seg.answers_to = "question", None
            question = seg
        elif seg.qa == "answer" or (seg.part == "qa" and question is not None and seg.speaker in answerers):
            seg.qa = "answer"
            seg.answers_to = question.order if question is not None else None
            if not seg.speaker and lone_guest:
                seg.speaker = lone_guest
        elif seg.part != "qa":
            question = None
