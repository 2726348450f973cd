"""A corpus's own withdrawn remarks: `redactions.yaml` beside `sessions.yaml`, applied by `kb index DIR`.

Each entry names the document and quotes the withdrawn text (so it survives edits that move turns), with
the reason; `whole: true` withdraws the whole turn that holds the quoted text::

    withdrawals:
      - document: s03-transcript
        text: 最初の見積は四百五十万円でした。
        reason: 事業者の見積額のため、発言者の申し出により取り消し

>>> from indexer.models import Document, Segment
>>> doc = Document("d", segments=[Segment(0, "挨拶です。"), Segment(1, "見積は三百万円でした。")])
>>> [(w.turn_id, w.start, w.end) for w in resolve([{"document": "d", "text": "三百万円", "reason": "r"}], [doc])]
[('d#0001', 3, 7)]
"""

from __future__ import annotations

from pathlib import Path

import yaml

from indexer.errors import IngestError
from indexer.ingest.withdrawals import Withdrawal
from indexer.models import Document

CORPUS_RECORD = "redactions.yaml"


def read(root: Path) -> list[dict]:
    """The entries of `<root>/redactions.yaml` ([] when there is none)."""
    path = Path(root) / CORPUS_RECORD
    if not path.is_file():
        return []
    try:
        obj = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise IngestError(f"{CORPUS_RECORD} を読めません: {e}") from None
    rows = obj.get("withdrawals") if isinstance(obj, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise IngestError(f"{CORPUS_RECORD} には withdrawals: の一覧を書いてください。")
    return rows


def resolve(rows: list[dict], docs: list[Document], actor: str = "", time: str = "") -> list[Withdrawal]:
    """Each entry as a withdrawal of the first turn of its document holding its text (IngestError, naming the
    entry, when the document or the text is not found or the reason is missing)."""
    by_id = {d.id: d for d in docs}
    out = []
    for n, r in enumerate(rows, 1):
        doc_id, text, reason = (str(r.get(k) or "").strip() for k in ("document", "text", "reason"))
        where = f"{CORPUS_RECORD} の {n} 件目"
        if not doc_id or not text or not reason:
            raise IngestError(f"{where}: document・text・reason を書いてください。")
        doc = by_id.get(doc_id)
        if doc is None:
            raise IngestError(f"{where}: 文書「{doc_id}」がコーパスにありません。")
        seg = next((s for s in doc.segments if text in s.text), None)
        if seg is None:
            raise IngestError(f"{where}: 文書「{doc_id}」に「{text[:20]}…」を含む発言がありません。")
        if r.get("whole"):
            start, end, text = None, None, seg.text
        else:
            start = seg.text.find(text)
            end = start + len(text)
        out.append(Withdrawal(doc.segment_id(seg.order), doc.id, seg.order, start, end, text, reason,
                              actor, time, "corpus"))
    return out
