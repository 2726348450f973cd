"""`kb`: the command line. It reads arguments, calls the library and prints; errors are Japanese, no traceback."""

from __future__ import annotations

import argparse
import html
import json
import os
import subprocess
import sys
from pathlib import Path

from indexer import archive
from indexer.archive.datadir import DEFAULT_DATA, DataDir
from indexer.cli.redact import overlay_lines, secretariat_overlay
from indexer.errors import KbError, QueryError
from indexer.index.store import Index
from indexer.models import DOC_TYPES, PART_LABELS, PARTS, ROLES, VISIBILITIES, Document
from indexer.search.cite import Citer
from indexer.search.kb import Filters, KnowledgeBase

APP_FILE = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
#: Modules adding subcommands: each has `register(subparsers)` and `run(args, data: DataDir) -> int`.
PLUGINS = ("indexer.bench.evaluate", "indexer.bench.speed", "indexer.cli.users", "indexer.cli.admin",
           "indexer.cli.redact", "indexer.cli.saved", "indexer.cli.followups")


def _plugins() -> dict:
    import importlib

    mods = {}
    for name in PLUGINS:
        try:
            mods[name] = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return mods


class _Parser(argparse.ArgumentParser):
    """A parser whose usage errors are Japanese and which takes the global options (every subcommand's too,
    so `--data DIR` may come before or after it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        g = self.add_argument_group("共通オプション（サブコマンドの前でも後でも指定できます）")
        g.add_argument("--data", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                       help=f"データディレクトリ: 索引 index/・原本 sources/・audit.log・users.json・synonyms.yaml・"
                            f"uploads/（既定: 環境変数 KB_DATA、なければ {DEFAULT_DATA}）")
        g.add_argument("--index", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                       help="従来の指定（環境変数 KB_INDEX も同じ）: 索引ディレクトリ。名前が index か索引を含むなら"
                            "その親が、それ以外は DIR 自体がデータディレクトリになります。新しくは --data を使ってください")

    def error(self, message: str):  # usage errors in Japanese, exit 2
        self.print_usage(sys.stderr)
        print(f"kb: 引数が正しくありません: {message}", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kb", description="研究会ナレッジベースの索引作成・検索")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("index", help="コーパスのディレクトリから索引を作り直す")
    s.add_argument("dir", nargs="?", default="corpus", type=Path)
    s.add_argument("--procs", type=int, default=0,
                   help="索引作成に使うプロセス数（既定 0: 自動。本文 200 万字以上なら 2）")

    s = sub.add_parser("add", help="ファイルを追加・差し替える")
    s.add_argument("files", nargs="+", type=Path)
    s.add_argument("--id", dest="doc_id")
    s.add_argument("--session", type=int)
    s.add_argument("--date")
    s.add_argument("--title")
    s.add_argument("--type", choices=DOC_TYPES)
    s.add_argument("--visibility", choices=VISIBILITIES)
    s.add_argument("--part", choices=PARTS)
    s.add_argument("--dry-run", action="store_true", help="解析結果を表示するだけで書き込まない")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("import", help="JSONL（1 行 1 発言）を一括取り込み")
    s.add_argument("file", type=Path)
    s.add_argument("--visibility", choices=VISIBILITIES, default="public")
    s.add_argument("--procs", type=int, default=0,
                   help="空の索引に取り込むときのプロセス数（既定 0: 自動。本文 200 万字以上なら 2）")

    s = sub.add_parser("remove", help="文書を ID で削除")
    s.add_argument("doc_id")

    s = sub.add_parser("search", help="検索")
    s.add_argument("query", help='検索語: 語を並べると AND、OR（| ｜）、NOT（-語）、"フレーズ"、( )、field:値'
                                 "（README「検索語の書き方」）")
    s.add_argument("--speaker")
    s.add_argument("--session", type=int, action="append")
    s.add_argument("--from", dest="date_from")
    s.add_argument("--to", dest="date_to")
    s.add_argument("--type", choices=DOC_TYPES)
    s.add_argument("--part", choices=PARTS)
    s.add_argument("--speaker-role")
    s.add_argument("--role", choices=ROLES, default="public", help="利用者の種別（公開範囲の判定）")
    s.add_argument("--limit", type=int, default=10)
    s.add_argument("--page", type=int, default=1)
    s.add_argument("--sort", choices=("relevance", "date", "date_asc"), default="relevance")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("show", help="文書全体を表示")
    s.add_argument("doc_id")
    s.add_argument("--role", choices=ROLES, default="public")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("stats", help="索引の統計")
    s.add_argument("--role", choices=ROLES, default="secretariat")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("serve", help="Web アプリを起動（127.0.0.1）")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument("--address", default="127.0.0.1")
    for mod in _plugins().values():
        for command in mod.register(sub):
            p.set_defaults(**{f"_plugin_{command}": mod})
    return p


def _plain(snippet: str) -> str:
    return html.unescape(snippet.replace("<mark>", "《").replace("</mark>", "》"))


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _describe(doc: Document) -> list[str]:
    lines = [f"文書 {doc.id}  種類={doc.type}  公開={doc.visibility}  回={doc.session or '-'}  日付={doc.date or '-'}"
             f"  文字コード={doc.encoding or '-'}  発言={len(doc.segments)}", f"  題名: {doc.title}"]
    speakers: dict[str, int] = {}
    for s in doc.segments:
        if s.speaker:
            speakers[s.speaker] = speakers.get(s.speaker, 0) + 1
    if speakers:
        lines.append("  話者: " + "、".join(f"{k}（{v}）" for k, v in speakers.items()))
    for s in doc.segments:
        t = f" [{_when(s.start)}–{_when(s.end)}]" if s.start is not None else ""
        qa = {"question": " 質問", "answer": f" 回答→#{s.answers_to}"}.get(s.qa, "")
        who = s.speaker + (f"（{s.speaker_role}）" if s.speaker_role else "") if s.speaker else "-"
        body = s.text.replace("\n", " ")
        lines.append(f"  #{s.order} {PART_LABELS.get(s.part, s.part)}{t}{qa} {who}: {body[:60]}{'…' if len(body) > 60 else ''}"
                     + (" [会員限定]" if s.visibility == "members" else ""))
    return lines


def run(argv: list[str] | None = None) -> int:
    """Parse `argv` and run one command; returns the exit code (errors raise `KbError`)."""
    args = _parser().parse_args(argv)
    data = DataDir.resolve(data=getattr(args, "data", None), index=getattr(args, "index", None))
    cmd = args.command
    plugin = getattr(args, f"_plugin_{cmd}", None)
    if plugin is not None:
        return plugin.run(args, data)

    if cmd == "index":
        ix = archive.index_corpus(args.dir, data, procs=max(0, args.procs))
        st = KnowledgeBase(ix, data_dir=data.root).stats("secretariat")
        print(f"索引を作成しました: {data.index}（文書 {st['documents']} 件、発言 {st['turns']} 件）")
        return 0

    if cmd == "add":
        overrides = {"id": args.doc_id, "session": args.session, "date": args.date, "title": args.title,
                     "type": args.type, "visibility": args.visibility, "part": args.part}
        results = archive.add_files(data, list(args.files), overrides, dry_run=args.dry_run)
        if args.json:
            _print_json([{"path": r.path, "doc_id": r.doc_id, "status": r.status, "message": r.message,
                          "document": r.document.to_dict() if (r.document and args.dry_run) else None}
                         for r in results])
        else:
            labels = {"added": "追加", "replaced": "差し替え", "unchanged": "変更なし", "parsed": "解析のみ", "error": "エラー"}
            for r in results:
                print(f"{labels.get(r.status, r.status)}: {r.path}" + (f"（{r.doc_id}）" if r.doc_id else "")
                      + (f" — {r.message}" if r.message else ""))
                if args.dry_run and r.document:
                    print("\n".join(_describe(r.document)))
        errors = [r for r in results if r.status == "error"]
        if errors and not args.dry_run:
            print("エラーがあったため、何も書き込んでいません。", file=sys.stderr)
        return 1 if errors else 0

    if cmd == "import":
        docs = archive.import_jsonl(data, args.file, args.visibility, procs=max(0, args.procs))
        print(f"取り込みました: {args.file}（文書 {len(docs)} 件、発言 {sum(len(d.segments) for d in docs)} 件）")
        return 0

    if cmd == "remove":
        n = archive.remove(data, args.doc_id)
        if not n:
            raise KbError(f"文書が見つかりません: {args.doc_id}")
        print(f"削除しました: {args.doc_id}")
        return 0

    if cmd == "search":
        if args.limit < 1 or args.page < 1:
            raise QueryError("--limit と --page は 1 以上で指定してください。")
        kb = KnowledgeBase(Index(data.index), data_dir=data.root)
        f = Filters(sessions=args.session or [], date_from=args.date_from or "", date_to=args.date_to or "",
                    doc_type=args.type or "", speaker=args.speaker or "", speaker_role=args.speaker_role or "",
                    part=args.part or "")
        res = kb.search(args.query, f, role=args.role, page=args.page, page_size=args.limit, sort=args.sort)
        if args.json:
            out = res.to_dict()
            out["hits"] = [{k: h[k] for k in ("id", "doc_id", "title", "session", "date", "speaker", "speaker_role",
                                              "part", "doc_type", "visibility", "qa", "answers_to", "start",
                                              "end", "score", "snippet", "text", "heading", "all_terms",
                                              "url", "cite", "media_url", "followups")}
                           for h in out["hits"]]
            _print_json(out)
            return 0
        if res.message:
            print(res.message)
        print(res.counts)
        number = {h.id: i for i, h in enumerate(res.hits, (res.page - 1) * res.page_size + 1)}
        by_id = {h.id: h for h in res.hits}

        def show_hit(h, indent: str) -> None:
            who = h.speaker + (f"（{h.speaker_role}）" if h.speaker_role else "") if h.speaker else ""
            sess = f"第{h.session}回 " if h.session else ""
            print(f"{indent}[{number[h.id]}] {sess}{h.date} {who} {h.title} ({h.id})")
            print(f"{indent}    {_plain(h.snippet)}")
            if h.media_url:
                print(f"{indent}    ▶ {_when(h.start)} {h.media_url}")
            if h.followups:  # ほかの回でも
                print(f"{indent}    ほかの回でも: " + "、".join(f"第{f['session']}回 {f['speaker'] or f['title']}（{f['id']}）"
                                                      for f in h.followups))

        for g in res.groups:  # consecutive hits of one document fold under the first
            show_hit(by_id[g.lead], "")
            if g.others:
                print(f"    {g.label}:")
                for other in g.others:
                    show_hit(by_id[other], "      ")
        return 0

    if cmd == "show":
        doc = KnowledgeBase(Index(data.index), data_dir=data.root).document(args.doc_id, role=args.role)
        if doc is None:
            raise KbError(f"文書が見つかりません: {args.doc_id}")
        links = Citer.of(data.root).document(doc)
        withdrawn = secretariat_overlay(doc, data) if args.role == "secretariat" else {}  # struck, with reasons
        if args.json:
            out = doc.to_dict()
            for seg in out["segments"]:  # each turn's permalink, citation and recording link
                t = links[seg["order"]]
                seg.update(url=t.url, cite=t.cite, media_url=t.media_url, **withdrawn.get(seg["order"], {}))
            _print_json(out)
        else:
            print(f"{doc.title}（{doc.id}）")
            media = {o: t for o, t in links.items() if t.media_url}
            for s in doc.segments:
                who = s.speaker + (f"（{s.speaker_role}）" if s.speaker_role else "") if s.speaker else ""
                t = f"[{_when(s.start)}] " if s.start is not None else ""
                turn = withdrawn.get(s.order)
                print(f"\n{t}{who + '：' if who else ''}{turn['original_text'] if turn else s.text}")
                if turn:
                    print("\n".join(overlay_lines(turn)))
                if s.order in media:
                    print(f"▶ {media[s.order].media_time} {media[s.order].media_url}")
        return 0

    if cmd == "stats":
        st = KnowledgeBase(Index(data.index), data_dir=data.root).stats(args.role)
        if args.json:
            _print_json(st)
        else:
            print(f"索引: {st['index']}\n文書: {st['documents']} 件 {st['by_type']}\n発言: {st['turns']} 件"
                  f"（パッセージ {st['passages']}）\n回: {', '.join(st['sessions'])}\n話者: {st['speakers']} 人")
        return 0

    if cmd == "serve":
        Index(data.index)  # fail early, in Japanese, when there is no usable index
        env = {**os.environ, **data.environ()}  # the app resolves the same data directory
        return subprocess.call(
            [sys.executable, "-m", "streamlit", "run", str(APP_FILE), "--server.address", args.address,
             "--server.port", str(args.port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false"], env=env)
    return 2


def main(argv: list[str] | None = None) -> None:
    try:
        code = run(argv)
    except KbError as e:
        print(f"kb: {e}{archive.hint(e)}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        print("kb: 中断しました。", file=sys.stderr)
        code = 130
    except Exception as e:  # noqa: BLE001 - the user gets a message, not a traceback
        if os.environ.get("KB_DEBUG"):
            raise
        print(f"kb: 予期しないエラーが発生しました（{type(e).__name__}: {e}）。KB_DEBUG=1 で詳細を表示できます。",
              file=sys.stderr)
        code = 1
    sys.exit(code)
