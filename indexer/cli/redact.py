"""`kb redact` / `kb unredact`: withdraw a remark and restore it (a `cli` plugin), and the secretariat's
`kb show` overlay (the withdrawn text and its reason under each turn)."""

from __future__ import annotations

import json

from indexer.archive import redaction
from indexer.archive.datadir import DataDir
from indexer.errors import KbError
from indexer.ingest import withdrawals
from indexer.models import Document

COMMANDS = ["redact", "unredact"]


def register(sub) -> list[str]:
    s = sub.add_parser("redact", help="発言（またはその一部）を取り消す（事務局）。原本はそのまま、別の記録に残します")
    s.add_argument("turn_id", nargs="?", help="発言 ID（`kb search --json` の id、`kb show` の 文書ID#番号）")
    s.add_argument("--span", metavar="START:END",
                   help="取り消す範囲（`kb show --role secretariat` の本文の文字位置、END は含まない）。省略すると発言全体")
    s.add_argument("--text", dest="fragment", metavar="文字列", help="取り消す部分を本文の文字列で指定（最初に現れる箇所）")
    s.add_argument("--reason", help="取り消しの理由（必須）")
    s.add_argument("--list", action="store_true", help="取り消しの一覧を表示する")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("unredact", help="取り消した発言を元に戻す（その発言の取り消しをすべて）")
    s.add_argument("turn_id")
    s.add_argument("--json", action="store_true")
    return list(COMMANDS)


def _line(w: withdrawals.Withdrawal) -> str:
    return (f"{w.turn_id} [{w.span_label}] 理由: {w.reason}（{w.actor or '-'} {w.time or '-'}"
            f"{'・コーパスの記録' if w.origin == 'corpus' else ''}）")


def run(args, data: DataDir) -> int:
    """`kb redact` (or `--list`) / `kb unredact` on the data directory `data`."""
    if args.command == "unredact":
        gone = redaction.unredact(data, args.turn_id)
        if args.json:
            print(json.dumps([w.to_dict() for w in gone], ensure_ascii=False, indent=2))
        else:
            print(f"元に戻しました: {args.turn_id}（{len(gone)} 件）")
        return 0
    if args.list:
        items = redaction.listing(data)
        if args.json:
            print(json.dumps([w.to_dict() for w in items], ensure_ascii=False, indent=2))
        else:
            print("\n".join(_line(w) for w in items) if items else "取り消した発言はありません。")
        return 0
    if not args.turn_id:
        raise KbError("発言 ID を指定してください（一覧は `kb redact --list`）。")
    if args.span and args.fragment:
        raise KbError("--span と --text はどちらか一方だけを指定してください。")
    span = redaction.parse_span(args.span) if args.span else None
    w = redaction.redact(data, args.turn_id, args.reason or "", span=span, fragment=args.fragment or "")
    if args.json:
        print(json.dumps(w.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"取り消しました: {w.turn_id} [{w.span_label}]（{len(w.text)} 文字）理由: {w.reason}")
    return 0


def secretariat_overlay(doc: Document, data: DataDir) -> dict[int, dict]:
    """`kb show --role secretariat`: for each turn with a withdrawal (by order), its text before the
    withdrawals (`original_text`) and the withdrawals with their reasons (`withdrawn`)."""
    mine = withdrawals.of_document(withdrawals.load(data.root), doc.id)
    return {seg.order: {"original_text": withdrawals.original_text(seg.text, mine[seg.order]),
                        "withdrawn": [w.to_dict() for w in mine[seg.order]]}
            for seg in doc.segments if seg.order in mine}


def overlay_lines(turn: dict) -> list[str]:
    """The plain `kb show` lines under a withdrawn turn: each withdrawn text struck through, with its reason."""
    out = []
    for w in turn["withdrawn"]:
        span = "発言全体" if w["start"] is None else f"{w['start']}:{w['end']}"
        out.append(f"  ［取り消し {span}］〜〜{w['text']}〜〜 理由: {w['reason']}（{w['actor'] or '-'} {w['time'] or '-'}）")
    return out
