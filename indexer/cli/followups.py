"""`kb followups TURN_ID`: the turns of other sessions that take up the same topic (ほかの回でも).

Also `kb followups --refresh`: compute every link again from the index (the archive does it by itself
whenever the index changes; this is for a data directory whose index was changed by hand)."""

from __future__ import annotations

import argparse
import json

from indexer.archive import followups as kept
from indexer.archive.datadir import DataDir
from indexer.archive.transaction import transaction
from indexer.errors import KbError
from indexer.index.store import Index
from indexer.models import ROLES
from indexer.search import followup_links
from indexer.search.kb import KnowledgeBase


def register(subparsers) -> list[str]:
    p = subparsers.add_parser("followups", help="ほかの回で同じ話題を扱った発言（ほかの回でも）を表示")
    p.add_argument("turn_id", nargs="?", default="", help="発言 ID（例: s02-transcript#0051。kb search --json の id）")
    p.add_argument("--role", choices=ROLES, default="public", help="この立場で見える発言だけを表示（既定: public）")
    p.add_argument("--json", action="store_true")
    p.add_argument("--refresh", action="store_true", help="索引からすべてのつながりを計算し直す")
    return ["followups"]


def run(args: argparse.Namespace, data: DataDir) -> int:
    """Print one turn's follow-ups as the role may see them (or recompute them all)."""
    if args.refresh:
        with transaction(data, mode="open") as tx:
            kept.refresh(data, tx.index, force=True)
        n = len(followup_links.load(data.root).by_turn)
        print(f"ほかの回とのつながりを計算し直しました（つながりのある発言 {n} 件）。")
        return 0
    if not args.turn_id:
        raise KbError("発言 ID を指定してください（例: kb followups s02-transcript#0051）。")
    kb = KnowledgeBase(Index(data.index), data_dir=data.root)
    doc_id, _, order = args.turn_id.rpartition("#")
    doc = kb.document(doc_id, role=args.role) if doc_id and order.isdigit() else None
    if doc is None or all(doc.segment_id(s.order) != args.turn_id for s in doc.segments):
        raise KbError(f"発言が見つかりません: {args.turn_id}")
    found = followup_links.for_turn(kb, args.turn_id, args.role)
    if args.json:
        print(json.dumps({"id": args.turn_id, "followups": [f.to_dict() for f in found]}, ensure_ascii=False,
                         indent=2))
        return 0
    if not found:
        print(f"{args.turn_id}: ほかの回で同じ話題を扱った発言はありません。")
        return 0
    for f in found:
        print(f"{f.lead}: {f.who} {f.snippet}（{f.id}）")
    return 0
