"""`kb redact` / `kb unredact` and the 管理 page's 発言の取り消し: withdraw a turn or a span of it, and restore.

A withdrawal is an entry of `<data>/redactions.json` (`indexer.ingest.withdrawals`); the kept sources are
never changed. Each action is one `transaction()` (write lock, undone on error, audited): the record is
written atomically, then the document is read again from its kept source and re-indexed — the archive's
index applies the record to every document it is given, so the index never holds withdrawn text. Turn ids
do not change (the turn stays, its text becomes 「（発言取り消し）」). The audit entry names the turn, the
span and the reason, never the withdrawn text.

>>> check_span((3, 9), "見積は三百万円でした。")
(3, 9)
"""

from __future__ import annotations

from pathlib import Path

from indexer.archive.datadir import DataDir
from indexer.archive.files import write_atomic
from indexer.archive.kept import now_utc, source_documents
from indexer.archive.transaction import Transaction, transaction
from indexer.errors import IngestError
from indexer.ingest import withdrawn_corpus
from indexer.ingest.withdrawals import RECORD_NAME, Withdrawal, dumps, load
from indexer.models import Document

MAX_REASON = 300


def check_span(span: tuple[int, int], text: str) -> tuple[int, int]:
    """A span of `text` (START:END, character offsets, END exclusive) or IngestError in Japanese."""
    start, end = span
    if start < 0 or end > len(text):
        raise IngestError(f"範囲 {start}:{end} が発言の外にあります（この発言は 0:{len(text)} の {len(text)} 文字です）。")
    if start >= end:
        raise IngestError(f"範囲 {start}:{end} は空です（START は END より小さくしてください）。")
    return start, end


def parse_span(value: str) -> tuple[int, int]:
    """`START:END` → (START, END).

    >>> parse_span("12:30")
    (12, 30)
    """
    try:
        a, b = value.replace("：", ":").split(":")
        return int(a), int(b)
    except ValueError:
        raise IngestError(f"範囲は START:END（文字の位置、例 12:30）で指定してください: {value}") from None


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise IngestError("取り消しの理由を入力してください。")
    if len(reason) > MAX_REASON:
        raise IngestError(f"理由は {MAX_REASON} 文字以内にしてください。")
    if any(ord(c) < 32 for c in reason):
        raise IngestError("理由に改行や制御文字は使えません。")
    return reason


def _locate(tx: Transaction, turn_id: str) -> tuple[Document, int]:
    """The kept source's document holding `turn_id`, and the turn's order (IngestError when unknown)."""
    assert tx.index is not None
    with tx.index.searcher() as s:
        stored = s.document(seg_id=turn_id)
    if stored is None:
        raise IngestError(f"発言が見つかりません: {turn_id}（発言 ID は `kb search --json` の id、"
                          "`kb show` の文書 ID#番号 です）")
    doc_id, order = stored["doc_id"], int(stored["order"])
    owners = [src for src in tx.stored() if doc_id in src.doc_ids]
    if not owners:
        raise IngestError(f"文書「{doc_id}」は原本が保存されていないため、発言を取り消せません（`kb rebuild` で確認してください）。")
    doc = next((d for d in source_documents(owners[0], tx.data.root) if d.id == doc_id), None)
    if doc is None or not any(s.order == order for s in doc.segments):
        raise IngestError(f"発言「{turn_id}」が原本にありません。`kb check` で索引と原本を確認してください。")
    return doc, order


def _write(tx: Transaction, items: list[Withdrawal], doc: Document) -> None:
    """Write the record, then re-index `doc` from its kept source (the record restored if that fails)."""
    path = tx.data.root / RECORD_NAME
    before = path.read_bytes() if path.is_file() else None
    write_atomic(path, dumps(items))
    try:
        assert tx.index is not None
        tx.index.put([doc])
    except BaseException:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_atomic(path, before)
        raise


def _detail(w: Withdrawal) -> str:
    return f"turn={w.turn_id} span={w.span_label} reason={w.reason}"


def redact(data: DataDir, turn_id: str, reason: str, span: tuple[int, int] | None = None,
           fragment: str = "", actor: str | None = None) -> Withdrawal:
    """Withdraw a turn (`span` and `fragment` unset), a span of it (`span`: character offsets into the turn's
    text as `kb show --role secretariat` prints it), or the first occurrence of `fragment` in it.

    Unknown turns, spans outside the text or empty, a fragment not in the turn, and a span overlapping a
    withdrawal already made raise IngestError (Japanese) and change nothing."""
    reason = _check_reason(reason)
    turn_id = (turn_id or "").strip()
    with transaction(data, actor) as tx:
        doc, order = _locate(tx, turn_id)
        text = next(s for s in doc.segments if s.order == order).text
        if span is None and fragment:
            at = text.find(fragment)
            if at < 0:
                raise IngestError(f"指定した文字列が発言「{turn_id}」にありません。発言の本文からそのまま写してください。")
            span = (at, at + len(fragment))
        items = load(data.root)
        mine = [w for w in items if w.doc_id == doc.id and w.order == order]
        if span is not None:
            start, end = check_span(span, text)
            if (start, end) == (0, len(text)):
                span = None
        for w in mine:
            if w.whole or span is None or ((w.start or 0) < span[1] and span[0] < (w.end or 0)):
                raise IngestError(f"発言「{turn_id}」の {w.span_label} はすでに取り消されています"
                                  "（重なる範囲は取り消せません。先に `kb unredact` で元に戻してください）。")
        new = Withdrawal(doc.segment_id(order), doc.id, order, span[0] if span else None,
                         span[1] if span else None, text[span[0]:span[1]] if span else text, reason,
                         tx.actor, now_utc())
        _write(tx, [*items, new], doc)
        tx.record("redact", doc.id, "", _detail(new))
    return new


def unredact(data: DataDir, turn_id: str, actor: str | None = None) -> list[Withdrawal]:
    """Restore every withdrawal of a turn; returns them (IngestError when the turn has none)."""
    turn_id = (turn_id or "").strip()
    with transaction(data, actor) as tx:
        items = load(data.root)
        gone = [w for w in items if w.turn_id == turn_id]
        if not gone:
            raise IngestError(f"発言「{turn_id}」に取り消しはありません（`kb redact --list` で一覧を表示できます）。")
        rest = [w for w in items if w.turn_id != turn_id]
        try:
            doc, _ = _locate(tx, turn_id)
        except IngestError:  # a removed document: only its record goes (nothing indexed to restore)
            write_atomic(tx.data.root / RECORD_NAME, dumps(rest))
        else:
            _write(tx, rest, doc)
        doc_id = gone[0].doc_id
        for w in gone:
            tx.record("unredact", doc_id, "", _detail(w))
    return gone


def listing(data: DataDir) -> list[Withdrawal]:
    """Every withdrawal, by document and turn."""
    return sorted(load(data.root), key=lambda w: (w.doc_id, w.order, -1 if w.start is None else w.start))


def restore_record(root: Path, source: Path) -> None:
    """Copy an archived record into the data directory `root` (or remove the record when `source` has none)."""
    if source.is_file():
        load(source.parent)  # an unreadable record is refused before anything is replaced
        write_atomic(root / RECORD_NAME, source.read_bytes())
    else:
        (root / RECORD_NAME).unlink(missing_ok=True)


def with_corpus(root: Path, corpus_root: Path, docs: list[Document], actor: str
                ) -> tuple[list[Withdrawal], list[Withdrawal]]:
    """`kb index DIR`: the record with the corpus's `redactions.yaml` in place of its earlier entries (the
    withdrawals made with `kb redact` stay); returns it and the corpus entries that are new."""
    items = load(root)
    old = {_key(w): w for w in items if w.origin == "corpus"}
    merged = [w for w in items if w.origin != "corpus"]
    added = []
    for w in withdrawn_corpus.resolve(withdrawn_corpus.read(corpus_root), docs, actor, now_utc()):
        merged.append(old.get(_key(w), w))
        if _key(w) not in old:
            added.append(w)
    return merged, added


def _key(w: Withdrawal) -> tuple:
    return w.turn_id, w.start, w.end, w.text, w.reason


def save(root: Path, items: list[Withdrawal]) -> None:
    """Write the record atomically (nothing when it is empty and there is none yet)."""
    if items or (Path(root) / RECORD_NAME).exists():
        write_atomic(Path(root) / RECORD_NAME, dumps(items))


def audit_detail(w: Withdrawal) -> str:
    """The audit entry's detail: the turn, the span, the reason (never the withdrawn text)."""
    return _detail(w) + (" origin=corpus" if w.origin == "corpus" else "")


def index_problems(data: DataDir, searcher) -> list[str]:
    """`kb check`: turns whose indexed text is not their kept source's text with the record applied (a crash
    between writing the record and the index commit, an index changed around the archive), in Japanese."""
    from whoosh.query import Term

    from indexer.archive.kept import stored_sources
    from indexer.index.store import segments_from_records
    from indexer.ingest.withdrawals import apply

    items = load(data.root)
    problems = []
    sources = stored_sources(data.root)[0]
    for doc_id in sorted({w.doc_id for w in items}):
        owner = next((s for s in sources if doc_id in s.doc_ids), None)
        if owner is None:
            continue  # a removed document: its withdrawals wait for it to come back
        try:
            doc = next(d for d in source_documents(owner, data.root) if d.id == doc_id)
        except (IngestError, StopIteration):
            continue  # reported by check() itself
        want = {s.order: s.text for s in apply([doc], items)[0].segments}
        records = [searcher.stored_fields(d) for d in Term("doc_id", doc_id).docs(searcher)]
        have = {s.order: s.text for s in segments_from_records(records)}
        bad = [doc.segment_id(o) for o in sorted(want) if o in have and have[o] != want[o]]
        if bad:
            problems.append(f"取り消しの記録と索引が一致しません: {'、'.join(bad[:5])}（取り消した文字が索引に残っている"
                            f"おそれがあります）")
    return problems
