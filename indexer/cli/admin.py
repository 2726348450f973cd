"""`kb rebuild`, `kb check`, `kb export`, `kb import-archive`: keeping the archive safe (a `cli` plugin)."""

from __future__ import annotations

import json
from pathlib import Path

from indexer import archive
from indexer.archive import backup, check
from indexer.archive.datadir import DataDir

COMMANDS = ["rebuild", "check", "export", "import-archive"]


def register(sub) -> list[str]:
    s = sub.add_parser("rebuild", help="保存された原本から索引を作り直す（索引が壊れた・版が違うとき）")
    s.add_argument("--procs", type=int, default=0,
                   help="索引作成に使うプロセス数（既定 0: 自動。本文 200 万字以上なら 2）")
    s = sub.add_parser("check", help="索引と保存された原本が一致しているか点検する（不一致なら終了コード 1）")
    s.add_argument("--json", action="store_true")
    s = sub.add_parser("export", help="原本・カタログ・同義語辞書・監査ログ・取り消しの記録を 1 つの tar.gz に書き出す")
    s.add_argument("file", type=Path)
    s = sub.add_parser("import-archive", help="`kb export` のファイルからデータを復元し、索引を作り直す")
    s.add_argument("file", type=Path)
    s.add_argument("--procs", type=int, default=0,
                   help="索引作成に使うプロセス数（既定 0: 自動。本文 200 万字以上なら 2）")
    return list(COMMANDS)


def _count(ix) -> tuple[int, int]:
    with ix.searcher() as s:
        return len(list(s.reader().lexicon("doc_id"))), s.doc_count()


def run(args, data: DataDir) -> int:
    """One of `kb rebuild`, `kb check`, `kb export`, `kb import-archive` on the data directory `data`."""
    cmd = args.command
    if cmd == "rebuild":
        ix = archive.rebuild(data, procs=max(0, args.procs))
        docs, passages = _count(ix)
        print(f"原本から索引を作り直しました: {data.index}（文書 {docs} 件、パッセージ {passages} 件）")
        return 0
    if cmd == "check":
        problems = check.check(data)
        if args.json:
            print(json.dumps({"ok": not problems, "problems": problems}, ensure_ascii=False, indent=2))
        elif problems:
            print(f"索引と原本が一致しません（{len(problems)} 件）:")
            for p in problems:
                print(f"  - {p}")
            print(f"直すには: {archive.REBUILD_HINT}")
        else:
            print(f"索引と保存された原本は一致しています: {data.index}")
        return 1 if problems else 0
    if cmd == "export":
        manifest = backup.export(data, args.file)
        print(f"書き出しました: {args.file}（文書 {len(manifest['documents'])} 件、ファイル {len(manifest['files'])} 件）")
        return 0
    if cmd == "import-archive":
        manifest, ix = backup.import_archive(data, args.file, procs=max(0, args.procs))
        docs, passages = _count(ix)
        print(f"復元しました: {args.file} → {data.root}（文書 {docs} 件、パッセージ {passages} 件）")
        return 0
    return 2
