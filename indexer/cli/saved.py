"""`kb saved add|list|rename|remove`: an account's saved searches and their 「前回以降 N 件」 (a `kb` plugin).

The searches are kept per account in `<data>/saved_searches.json` (`indexer.archive.saved`); the new-hit
counts are those of the account's last visit (`indexer.archive.visits`), counted with the account's role.
`kb saved list` only reads: it does not start a visit (`--since` counts from another time).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json

from indexer.archive import news, saved
from indexer.archive.datadir import DataDir
from indexer.archive.transaction import open_index
from indexer.errors import KbError
from indexer.models import DOC_TYPES, PARTS
from indexer.search.kb import KnowledgeBase


def register(subparsers) -> list[str]:
    p = subparsers.add_parser("saved", help="アカウントごとの保存した検索（追加・一覧と前回以降の新着・名前の変更・削除）")
    sub = p.add_subparsers(dest="saved_command", required=True)
    s = sub.add_parser("add", help="検索を保存する（名前の既定は検索語）")
    s.add_argument("user", help="ユーザー名")
    s.add_argument("query", help="検索語（kb search と同じ書き方）")
    s.add_argument("--name", default="", help="保存する名前（既定: 検索語）")
    s.add_argument("--session", type=int, action="append", help="回（何度でも指定できます）")
    s.add_argument("--from", dest="date_from", default="", help="この日以降（YYYY-MM-DD）")
    s.add_argument("--to", dest="date_to", default="", help="この日まで（YYYY-MM-DD）")
    s.add_argument("--type", dest="doc_type", choices=DOC_TYPES, default="")
    s.add_argument("--part", choices=PARTS, default="")
    s.add_argument("--speaker", default="")
    s.add_argument("--speaker-role", default="")
    s = sub.add_parser("list", help="保存した検索の一覧（全件数と、前回の訪問以降に追加・差し替えられた文書での件数）")
    s.add_argument("user", help="ユーザー名")
    s.add_argument("--since", default="", help="新着をこの時刻以降で数える（ISO 8601。既定: 前回の訪問）")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("rename", help="保存した検索の名前を変える")
    s.add_argument("user")
    s.add_argument("key", metavar="NAME|ID", help="保存した検索の名前または番号")
    s.add_argument("new_name")
    s = sub.add_parser("remove", help="保存した検索を削除する")
    s.add_argument("user")
    s.add_argument("key", metavar="NAME|ID", help="保存した検索の名前または番号")
    return ["saved"]


def _since(text: str) -> float | None:
    if not text:
        return None
    try:
        t = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise KbError(f"--since は ISO 8601 の日時で指定してください（例: 2026-03-10T09:00:00+09:00）: {text}") from None
    return (t if t.tzinfo else t.astimezone()).timestamp()


def _list(args: argparse.Namespace, data: DataDir) -> int:
    saved.list_searches(data.root, args.user)  # an unknown user fails before the index is opened
    kb = KnowledgeBase(open_index(data), data_dir=data.root)
    rows = news.overview(data, kb, args.user, since=_since(args.since))
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"{saved.account_name(data.root, args.user)} さんの保存した検索はありません。")
        return 0
    since = rows[0].since
    print(f"前回の訪問: {_dt.datetime.fromtimestamp(since).strftime('%Y-%m-%d %H:%M')}（以降に追加・差し替えられた文書の発言を数えます）"
          if since is not None else "訪問の記録がまだないため、新着は数えていません。")
    for r in rows:
        cond = news.describe_filters(r.search.filters)
        counts = f"エラー: {r.error}" if r.error else f"全 {r.total} 件\t{r.new_label}"
        print(f"{r.search.id}\t{r.search.name}\t{r.search.query}{f'（{cond}）' if cond else ''}\t{counts}")
    return 0


def run(args: argparse.Namespace, data: DataDir) -> int:
    """One `kb saved` command on the data directory `data`."""
    cmd = args.saved_command
    if cmd == "list":
        return _list(args, data)
    if cmd == "add":
        filters = {"sessions": args.session or [], "date_from": args.date_from, "date_to": args.date_to,
                   "doc_type": args.doc_type, "part": args.part, "speaker": args.speaker,
                   "speaker_role": args.speaker_role}
        s = saved.add_search(data.root, args.user, args.query, filters, name=args.name)
        print(f"検索を保存しました: {s.id}「{s.name}」（検索語: {s.query}）")
    elif cmd == "rename":
        s = saved.rename_search(data.root, args.user, args.key, args.new_name)
        print(f"名前を変えました: {s.id}「{s.name}」")
    elif cmd == "remove":
        s = saved.remove_search(data.root, args.user, args.key)
        print(f"保存した検索を削除しました: {s.id}「{s.name}」")
    else:
        return 2
    return 0
