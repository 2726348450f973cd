"""Withdrawn remarks (発言の取り消し): the record, and the documents as they are indexed with it applied.

The record is `<data>/redactions.json` (written by `indexer.archive.redaction`, read here): one entry per
withdrawal — the turn (`turn_id`, its document and order), the span (`start`/`end`, character offsets into
the turn's text; none for the whole turn), the withdrawn text itself (to find it again after the source is
replaced), the reason, who and when. The kept sources are never changed: every document is passed through
`apply` on its way into the index, so the index — and everything computed from it (hits, snippets, counts,
facets, related turns, Q&A, trend, CSV, follow-ups) — holds 「（発言取り消し）」 instead of the text.

>>> doc = Document("d", segments=[Segment(0, "見積は三百万円でした。以上です。")])
>>> w = Withdrawal("d#0000", "d", 0, 3, 9, "三百万円でし", "本人の申し出")
>>> apply([doc], [w])[0].segments[0].text
'見積は（発言取り消し）た。以上です。'
>>> doc.segments[0].text  # the document given is not changed
'見積は三百万円でした。以上です。'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from indexer.errors import IngestError
from indexer.models import Document, Segment

PLACEHOLDER = "（発言取り消し）"
RECORD_NAME = "redactions.json"


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawal: a span of a turn (`start`/`end` set) or the whole turn (both None)."""

    turn_id: str
    doc_id: str
    order: int
    start: int | None
    end: int | None
    text: str
    reason: str
    actor: str = ""
    time: str = ""
    origin: str = "kb"  # "kb" (kb redact, the 管理 page) or "corpus" (the corpus's redactions.yaml)

    @property
    def whole(self) -> bool:
        return self.start is None

    @property
    def span_label(self) -> str:
        """`12:30`, or 「発言全体」.

        >>> Withdrawal("d#0001", "d", 1, None, None, "…", "r").span_label
        '発言全体'
        """
        return "発言全体" if self.whole else f"{self.start}:{self.end}"

    def to_dict(self) -> dict:
        return asdict(self)


def from_dict(obj: dict) -> Withdrawal:
    """A record entry; IngestError when it is malformed."""
    try:
        known = {f.name for f in fields(Withdrawal)}
        w = Withdrawal(**{k: v for k, v in obj.items() if k in known})
        if (not isinstance(w.turn_id, str) or not isinstance(w.doc_id, str) or not isinstance(w.order, int)
                or (w.start is None) != (w.end is None) or not isinstance(w.text, str)):
            raise TypeError
    except TypeError:
        raise IngestError(f"取り消しの記録（{RECORD_NAME}）の形式が正しくありません。") from None
    return w


def parse(data: bytes) -> list[Withdrawal]:
    """The entries of a record file's bytes (IngestError when it cannot be read: nothing is shown then)."""
    try:
        obj = json.loads(data.decode("utf-8"))
        rows = obj["withdrawals"] if isinstance(obj, dict) else None
        if not isinstance(rows, list):
            raise ValueError
    except (ValueError, KeyError, UnicodeDecodeError):
        raise IngestError(f"取り消しの記録（{RECORD_NAME}）を読めません。") from None
    return [from_dict(r) for r in rows if isinstance(r, dict)]


def dumps(items: list[Withdrawal]) -> bytes:
    """Record bytes: stable order (document, turn, span), UTF-8, readable."""
    rows = sorted(items, key=lambda w: (w.doc_id, w.order, -1 if w.start is None else w.start))
    return (json.dumps({"format": "kb-redactions", "version": 1, "withdrawals": [w.to_dict() for w in rows]},
                       ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def load(root: str | Path) -> list[Withdrawal]:
    """The withdrawals recorded in the data directory `root` ([] when there is no record)."""
    path = Path(root) / RECORD_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError:
        raise IngestError(f"取り消しの記録（{RECORD_NAME}）を読めません。") from None
    return parse(data)


def of_document(items: list[Withdrawal], doc_id: str) -> dict[int, list[Withdrawal]]:
    """A document's withdrawals by the order of their turn, each turn's in text order."""
    out: dict[int, list[Withdrawal]] = {}
    for w in sorted(items, key=lambda w: -1 if w.start is None else w.start):
        if w.doc_id == doc_id:
            out.setdefault(w.order, []).append(w)
    return out


#: Characters in a row that a changed turn must share with a withdrawn text to be withdrawn whole.
OVERLAP = 6


def _locate(segments: list[Segment], w: Withdrawal) -> list[tuple[int, int, int]]:
    """Where `w` applies: [(turn index, start, end)]. At its recorded place when the text there is the
    withdrawn text; else its first occurrence in its turn, then in the document's other turns (the source was
    replaced and turns moved). Failing that (the text itself was changed), closed: every turn sharing
    OVERLAP characters in a row with it is withdrawn whole, else the turn at the recorded order."""
    by_order = {s.order: i for i, s in enumerate(segments)}
    i = by_order.get(w.order)
    if i is not None and (segments[i].text == w.text if w.whole
                          else segments[i].text[w.start:w.end] == w.text):
        return [(i, 0, len(w.text)) if w.whole else (i, w.start or 0, w.end or 0)]
    if w.text:
        for k in ([i] if i is not None else []) + [k for k in range(len(segments)) if k != i]:
            at = segments[k].text.find(w.text)
            if at >= 0 and (not w.whole or segments[k].text == w.text):
                return [(k, at, at + len(w.text))]
    grams = {w.text[j:j + OVERLAP] for j in range(max(1, len(w.text) - OVERLAP + 1))} if w.text else set()
    near = [k for k, seg in enumerate(segments) if any(g and g in seg.text for g in grams)]
    if not near and i is not None:
        near = [i]
    return [(k, 0, len(segments[k].text)) for k in near]


def redact_text(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span replaced by the placeholder (overlapping spans are merged).

    >>> redact_text("ABCDEFG", [(1, 3), (2, 4), (5, 6)])
    'A（発言取り消し）E（発言取り消し）G'
    """
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out += [text[pos:s], PLACEHOLDER]
        pos = e
    out.append(text[pos:])
    return "".join(out)


def apply(docs: list[Document], items: list[Withdrawal]) -> list[Document]:
    """The documents as they are indexed: each withdrawn span (or whole turn) replaced by the placeholder.

    Documents without a withdrawal are returned as they are; the others are copies (the turns, their ids,
    order, speakers and Q&A links stay: only the text changes)."""
    wanted: dict[str, list[Withdrawal]] = {}
    for w in items:
        wanted.setdefault(w.doc_id, []).append(w)
    if not wanted:
        return list(docs)
    out = []
    for doc in docs:
        mine = wanted.get(doc.id)
        if not mine:
            out.append(doc)
            continue
        spans: dict[int, list[tuple[int, int]]] = {}
        for w in mine:
            for k, start, end in _locate(doc.segments, w):
                spans.setdefault(k, []).append((start, end))
        segs = [replace(s, text=redact_text(s.text, spans[k])) if k in spans else s
                for k, s in enumerate(doc.segments)]
        out.append(replace(doc, segments=segs))
    return out


def relocated(docs: list[Document], items: list[Withdrawal]) -> list[Withdrawal]:
    """`items` with each withdrawal whose text a replaced document now holds elsewhere (a turn inserted
    before it, the text moved within its turn) pointing at its new place (turn id, order, span): what the
    secretariat's views then show under the right turn. Withdrawals applied in place or failing closed stay."""
    by_id = {d.id: d for d in docs}
    out = []
    for w in items:
        doc = by_id.get(w.doc_id)
        got = _locate(doc.segments, w) if doc is not None else []
        if doc is not None and len(got) == 1:
            k, start, end = got[0]
            seg = doc.segments[k]
            exact = seg.text[start:end] == w.text and (not w.whole or seg.text == w.text)
            if exact and (seg.order, start if not w.whole else None) != (w.order, w.start):
                w = replace(w, turn_id=doc.segment_id(seg.order), order=seg.order,
                            start=None if w.whole else start, end=None if w.whole else end)
        out.append(w)
    return out


def original_text(shown: str, turn: list[Withdrawal]) -> str:
    """A turn's text before its withdrawals, from the indexed text and the turn's record entries (the
    secretariat's view); the indexed text itself when they do not fit it (the source changed since).

    >>> w = Withdrawal("d#0000", "d", 0, 3, 9, "三百万円でし", "r")
    >>> original_text("見積は（発言取り消し）た。", [w])
    '見積は三百万円でした。'
    """
    if len(turn) == 1 and turn[0].whole:
        return turn[0].text if shown == PLACEHOLDER else shown
    parts = shown.split(PLACEHOLDER)
    spans = [w for w in turn if not w.whole]
    if len(parts) != len(spans) + 1:
        return shown
    out = [parts[0]]
    for w, rest in zip(spans, parts[1:], strict=True):
        out += [w.text, rest]
    return "".join(out)
