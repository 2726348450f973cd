"""`kb bench`: performance of the product against SQLite FTS5 (trigram) on the same data and queries, in one run.

Measured for `kb` and for SQLite FTS5 (`tokenize='trigram'`, on-disk database in a temporary directory):

- full index build: kb = `archive.import_jsonl(..., procs=P)` into a new data directory (the write path of
  `kb import`: source kept, audit, parallel segments); fts5 = create + insert + commit
  (both read and parse the same JSONL file inside the timed part); index size on disk;
- latency of a query **with highlighted snippets of the top 10**, over a fixed mix of five kinds (`QUERY_MIX`),
  each query run `--repeat` times after one warm-up: median and p95 overall and per kind, and hit counts;
- kb only: `add_s`, the time `archive.add_files` (the write path of `kb add`) takes for a new 50,000-character
  transcript, and `add_visible_s`, the time from its return until an already-open `KnowledgeBase` (as a
  serving process has) finds the transcript's unique marker word;
- kb only: `rss_mb`, the peak RSS of a separate process that opens the index and serves the query mix, run
  right after the build, before this process tags any text (a process that has MeCab's dictionary pages mapped
  raises another process's RSS: 194 → 249 MB on the minutes);
- Groonga (`indexer.bench.groonga`), when installed, in two configurations (`groonga_mecab`, `groonga_bigram`):
  build, disk use, and the same query mix (without it the run says how to install it and goes on).

FTS5 queries: long terms (>= 3 characters) → their distinct trigrams ORed (`Fts5Trigram.match_expr`, per
whitespace-separated term) ranked by `bm25(docs)`, `snippet(docs, 2, '<mark>', '</mark>', '…', 32)`; a quoted
phrase → an FTS5 phrase (a substring for the trigram tokenizer); terms shorter than 3 characters → `LIKE`
(unranked, as in the quality baseline) with the snippet cut around the first occurrence in Python.

`--scale N` replicates the corpus N times (copy k >= 1 gets the suffix `-xk` on ids and meetings); `--limit-docs N`
keeps the first N lines of the JSONL (before replication). `--out FILE.md` writes a Markdown report; results of
other scales already in that file are kept, so `kb bench --out F` and `kb bench --scale 10 --out F` make one report.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from indexer.archive.datadir import DataDir
from indexer.bench.groonga import run_bench as run_groonga
from indexer.bench.workload import QUERY_MIX, ROLE, TOP_K, TRANSCRIPT_CHARS
from indexer.errors import KbError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = Path("..") / "shared" / "data" / "tokyo_assembly_minutes" / "corpus.jsonl"
MARKER = "ヌルポルテカ"
TRANSCRIPT_ID = "bench-transcript-50k"
VISIBLE_TIMEOUT_S = 60.0

SearchFn = Callable[[str], list[tuple[str, str]]]  # query → [(id, highlighted snippet)] of the top 10


class BenchError(KbError):
    """The benchmark cannot run (missing corpus, bad option)."""


# -- corpus ----------------------------------------------------------------------------------------------
def default_corpus() -> Path:
    """`$KB_BENCH_CORPUS`, else `../shared/data/tokyo_assembly_minutes/corpus.jsonl` beside the repository."""
    env = os.environ.get("KB_BENCH_CORPUS")
    return Path(env) if env else (ROOT / DEFAULT_CORPUS).resolve()


def read_records(path: Path, limit: int | None = None) -> Iterator[dict]:
    """The JSONL records of `path` (the first `limit` non-empty lines when given)."""
    n = 0
    with Path(path).open(encoding="utf-8-sig") as fh:
        for line in fh:
            if not line.strip():
                continue
            if limit is not None and n >= limit:
                return
            n += 1
            yield json.loads(line)


def replicate(records: Iterable[dict], scale: int) -> Iterator[dict]:
    """`records` `scale` times; copy k >= 1 gets `-xk` appended to its id and meeting (distinct documents).

    >>> [(r["id"], r["meeting"]) for r in replicate([{"id": "a", "meeting": "m"}], 2)]
    [('a', 'm'), ('a-x1', 'm-x1')]
    """
    records = list(records) if scale > 1 else records
    for k in range(scale):
        for rec in records:
            if k == 0:
                yield rec
                continue
            rec = dict(rec, id=f"{rec['id']}-x{k}")
            if rec.get("meeting"):
                rec["meeting"] = f"{rec['meeting']}-x{k}"
            yield rec


def prepare_corpus(src: Path, dest: Path, limit: int | None = None, scale: int = 1) -> dict:
    """Write the benchmark's JSONL (limited, replicated) to `dest`; returns its line and character counts."""
    docs = chars = 0
    with dest.open("w", encoding="utf-8") as out:
        for rec in replicate(read_records(src, limit), scale):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            docs += 1
            chars += len(str(rec.get("text") or ""))
    return {"docs": docs, "chars": chars}


def dir_mb(path: Path) -> float:
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


# -- statistics ------------------------------------------------------------------------------------------
def percentile(values, p: float) -> float:
    from indexer.bench.evaluate import percentile as _percentile

    return _percentile(values, p)


def run_mix(search: SearchFn, mix: dict[str, list[str]], repeat: int) -> dict:
    """Every query once (warm-up, hits counted), then `repeat` timed runs; latency in ms."""
    all_ms: list[float] = []
    by_kind: dict[str, dict] = {}
    for kind, queries in mix.items():
        kind_ms: list[float] = []
        hits = found = 0
        for q in queries:
            n = len(search(q))
            hits += n
            found += n > 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                search(q)
                kind_ms.append((time.perf_counter() - t0) * 1000)
        all_ms += kind_ms
        by_kind[kind] = {"queries": len(queries), "median_ms": round(statistics.median(kind_ms), 3),
                         "p95_ms": round(percentile(kind_ms, 95), 3), "hits": hits, "queries_with_hits": found}
    return {"query_median_ms": round(statistics.median(all_ms), 3) if all_ms else 0.0,
            "query_p95_ms": round(percentile(all_ms, 95), 3), "by_kind": by_kind}


# -- the FTS5 side ---------------------------------------------------------------------------------------
def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fts5_plan(query: str) -> tuple[str, list[str]]:
    """(FTS5 MATCH expression or "", terms to require with LIKE) for a query of the mix.

    >>> fts5_plan('"首都直下地震"')
    ('"首都直下地震"', [])
    >>> fts5_plan("待機児童 対策")
    ('"待機児" OR "機児童"', ['対策'])
    """
    from indexer.bench.baselines import Fts5Trigram

    q = query.strip()
    if len(q) >= 2 and q[0] == q[-1] == '"':
        phrase = q[1:-1].strip()
        if len("".join(phrase.split())) >= 3:
            return '"' + phrase.replace('"', '""') + '"', []
        return "", ["".join(phrase.split())] if phrase.strip() else []
    terms = q.split()
    match = " OR ".join(Fts5Trigram.match_expr(t) for t in terms if len(t) >= 3)
    return match, [t for t in terms if len(t) < 3]


def like_snippet(text: str, terms: list[str], tokens: int = 32) -> str:
    """A `snippet()`-like window of `tokens` characters around the first occurrence, terms in `<mark>`."""
    pos = min((i for i in (text.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, pos - tokens // 4)
    window = text[start:start + tokens]
    pattern = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True) if t)
    marked = re.sub(pattern, lambda m: f"<mark>{m.group(0)}</mark>", window) if pattern else window
    return ("…" if start > 0 else "") + marked + ("…" if start + tokens < len(text) else "")


class Fts5Bench:
    """`Fts5Trigram` on disk, searched with snippets of the top 10."""

    def __init__(self, jsonl: Path, db_path: Path):
        from indexer.bench.baselines import Fts5Trigram

        if sqlite3.sqlite_version_info < (3, 34, 0):
            raise BenchError(f"SQLite {sqlite3.sqlite_version} には trigram トークナイザがありません（3.34 以上が必要）。")
        self.path = db_path
        self.db = Fts5Trigram(read_records(jsonl), path=str(db_path)).db

    def search(self, query: str) -> list[tuple[str, str]]:
        match, likes = fts5_plan(query)
        where, params = [], []
        if match:
            where.append("docs MATCH ?")
            params.append(match)
        for t in likes:
            where.append("(title LIKE ? ESCAPE '\\' OR text LIKE ? ESCAPE '\\')")
            params += [_like(t), _like(t)]
        if not where:
            return []
        cond = " AND ".join(where)
        if match:
            sql = (f"SELECT id, snippet(docs, 2, '<mark>', '</mark>', '…', 32) FROM docs WHERE {cond} "
                   f"ORDER BY bm25(docs) LIMIT {TOP_K}")
            return self.db.execute(sql, params).fetchall()
        rows = self.db.execute(f"SELECT id, text FROM docs WHERE {cond} LIMIT {TOP_K}", params).fetchall()
        return [(i, like_snippet(text, likes)) for i, text in rows]

    def close(self) -> None:
        self.db.close()


# -- the kb side -----------------------------------------------------------------------------------------
def kb_search_fn(kb) -> SearchFn:
    def search(q: str) -> list[tuple[str, str]]:
        return [(h.id, h.snippet) for h in kb.search(q, role=ROLE, page_size=TOP_K).hits]

    return search


def transcript_text(records: Iterable[dict], marker: str = MARKER, size: int = TRANSCRIPT_CHARS) -> str:
    """A Markdown transcript of exactly `size` characters: speaker turns (`【話者】発言`) from the corpus's
    texts (cycled when the corpus is small), with `marker` in a turn near the middle."""
    turns = [(str(r.get("speaker_name") or r.get("speaker") or "発言者"), " ".join(str(r.get("text") or "").split()))
             for r in records]
    turns = [(re.sub(r"[【】\s]", "", who) or "発言者", text.lstrip("○◯")) for who, text in turns if len(text) >= 10]
    if not turns:
        turns = [("発言者", "本日の議題について審議を行います。")]
    head = (f"---\nid: {TRANSCRIPT_ID}\ntype: transcript\nvisibility: public\n"
            "title: ベンチマーク用トランスクリプト（5 万字）\ndate: 2020-06-30\n---\n\n"
            "# ベンチマーク用トランスクリプト\n\n## 質疑応答\n\n")
    parts = [head]
    total, k, marked = len(head), 0, False
    while total < size:
        who, text = turns[k % len(turns)]
        k += 1
        if not marked and total >= size // 2:
            text = f"この件は{marker}として記録します。{text}"
            marked = True
        line = f"【{who}】{text}\n\n"
        parts.append(line)
        total += len(line)
    body = "".join(parts)[:size - 1] + "\n"
    if not marked:  # a tiny size: the marker goes in the last turn
        body = body[:size - len(marker) - 2] + marker + "。\n"
    return body


def measure_add(data: DataDir, kb, work: Path, records: list[dict]) -> dict:
    """`add_s` (the write path of `kb add`) and `add_visible_s` (add return → first search finding it)."""
    from indexer.archive.actions import add_files
    from indexer.ingest.catalogue import Catalogue

    path = work / "bench-transcript.md"
    path.write_text(transcript_text(records), encoding="utf-8")
    before = kb.search(MARKER, role=ROLE, page_size=TOP_K)
    if any(h.doc_id == TRANSCRIPT_ID for h in before.hits):
        raise BenchError("ベンチマーク用の目印の語が追加前から見つかります。")
    t0 = time.perf_counter()
    results = add_files(data, [path], catalogue=Catalogue())
    t1 = time.perf_counter()
    bad = [r for r in results if r.status not in ("added", "replaced")]
    if bad:
        raise BenchError(f"ベンチマーク用トランスクリプトを追加できませんでした: {bad[0].status} {bad[0].message}")
    visible = None
    polls = 0
    while time.perf_counter() - t1 < VISIBLE_TIMEOUT_S:
        polls += 1
        if any(h.doc_id == TRANSCRIPT_ID for h in kb.search(MARKER, role=ROLE, page_size=TOP_K).hits):
            visible = time.perf_counter() - t1
            break
        time.sleep(0.005)
    return {"add_s": round(t1 - t0, 3), "add_visible_s": None if visible is None else round(visible, 3),
            "add_polls": polls}


def serving_rss(index_dir: Path, mix: dict[str, list[str]]) -> dict:
    """Peak RSS of a fresh process that opens the index and runs the query mix twice."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "indexer.bench.speed", "--serve-probe", str(index_dir)],
                          input=json.dumps(mix, ensure_ascii=False), capture_output=True, text=True, env=env,
                          timeout=1800, check=False)
    if proc.returncode != 0:
        raise BenchError(f"検索プロセスの計測に失敗しました: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _serve_probe(index_dir: str) -> int:
    import resource

    from indexer.index.store import Index
    from indexer.search.kb import KnowledgeBase

    mix = json.loads(sys.stdin.read())
    kb = KnowledgeBase(Index(index_dir))
    search = kb_search_fn(kb)
    hits = 0
    for _ in range(2):
        for queries in mix.values():
            for q in queries:
                hits += len(search(q))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6
    print(json.dumps({"rss_mb": round(peak_mb, 1), "hits": hits}))
    return 0


# -- the run ---------------------------------------------------------------------------------------------
def machine_note() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = "load average at start " + " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "load average unknown"
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPU(s), {load}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


def bench(corpus: Path, scale: int = 1, limit_docs: int | None = None, repeat: int = 5, procs: int = 2,
          mix: dict[str, list[str]] | None = None, log: Callable[[str], None] = lambda s: None) -> dict:
    """Run the whole benchmark; returns the JSON object of `kb bench --json`."""
    from indexer.archive import import_jsonl, open_index
    from indexer.search.kb import KnowledgeBase

    corpus = Path(corpus)
    if not corpus.is_file():
        raise BenchError(f"ベンチマーク用コーパスが見つかりません: {corpus}（--corpus か環境変数 KB_BENCH_CORPUS で指定してください）")
    for name, v in (("--scale", scale), ("--repeat", repeat), ("--procs", procs), ("--limit-docs", limit_docs or 1)):
        if v < 1:
            raise BenchError(f"{name} は 1 以上で指定してください。")
    mix = mix or QUERY_MIX
    machine = machine_note()
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        jsonl = work / "corpus.jsonl"
        log(f"コーパスを準備しています: {corpus}（×{scale}）")
        counts = prepare_corpus(corpus, jsonl, limit_docs, scale)
        if not counts["docs"]:
            raise BenchError(f"コーパスに発言がありません: {corpus}")

        log(f"kb: 索引を作成しています（発言 {counts['docs']:,} 件、{counts['chars']:,} 字、procs={procs}）")
        data = DataDir.at(work / "data")
        t0 = time.perf_counter()
        import_jsonl(data, jsonl, procs=procs, actor="kb bench", max_bytes=jsonl.stat().st_size)
        ix = open_index(data)
        kb_res: dict = {"build_s": round(time.perf_counter() - t0, 3), "index_mb": round(dir_mb(data.index), 2)}
        # before this process tags any text: a process holding MeCab's dictionary pages raises another's RSS
        log("検索プロセスのメモリを計測しています")
        kb_res["rss_mb"] = serving_rss(data.index, mix)["rss_mb"]

        log("fts5: 索引を作成しています")
        db_path = work / "fts5.sqlite3"
        t0 = time.perf_counter()
        fts = Fts5Bench(jsonl, db_path)
        fts_res: dict = {"build_s": round(time.perf_counter() - t0, 3), "index_mb": round(dir_mb(db_path), 2)}

        log(f"検索を計測しています（{sum(map(len, mix.values()))} 件 × {repeat} 回）")
        kb = KnowledgeBase(ix, data_dir=data.root)
        kb_res.update(run_mix(kb_search_fn(kb), mix, repeat))
        fts_res.update(run_mix(fts.search, mix, repeat))
        fts.close()
        groonga = run_groonga(lambda: read_records(jsonl), work, lambda fn: run_mix(fn, mix, repeat), log)


        log(f"{TRANSCRIPT_CHARS:,} 字のトランスクリプトを追加し、検索できるまでの時間を計測しています")
        kb_res.update(measure_add(data, kb, work, list(read_records(jsonl, 2000))))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    order = ("build_s", "index_mb", "query_median_ms", "query_p95_ms", "add_s", "add_visible_s", "rss_mb", "by_kind")
    return {"corpus": str(corpus), "docs": counts["docs"], "chars": counts["chars"], "scale": scale,
            "limit_docs": limit_docs, "repeat": repeat, "procs": procs,
            "kb": {k: kb_res[k] for k in order if k in kb_res},
            "fts5": {k: fts_res[k] for k in order if k in fts_res},
            **{key: {k: res[k] for k in order if k in res} for key, res in groonga.items()},
            "machine": machine, "date": _dt.date.today().isoformat()}


# -- CLI plugin ------------------------------------------------------------------------------------------
def register(subparsers) -> list[str]:
    s = subparsers.add_parser("bench", help="性能計測（索引作成・検索・追加・メモリ）を SQLite FTS5 と比べる")
    s.add_argument("--corpus", type=Path, default=None,
                   help=f"コーパス JSONL（既定: 環境変数 KB_BENCH_CORPUS、なければ {DEFAULT_CORPUS}）")
    s.add_argument("--scale", type=int, default=1, help="コーパスを N 倍に複製して計測（10 倍の計測は --scale 10）")
    s.add_argument("--limit-docs", type=int, default=None, help="コーパスの先頭 N 行（発言）だけを使う")
    s.add_argument("--repeat", type=int, default=5, help="各質問の計測回数（ウォームアップ 1 回の後、既定 5）")
    s.add_argument("--procs", type=int, default=2, help="kb の索引作成に使うプロセス数（既定 2）")
    s.add_argument("--out", type=Path, default=None, help="Markdown の報告を書き出す（例: docs/performance.md）")
    s.add_argument("--json", action="store_true")
    return ["bench"]


def run(args, data) -> int:  # data unused: the benchmark always builds its own temporary data directory
    from indexer.bench.report import format_table, write_report

    corpus = args.corpus or default_corpus()
    r = bench(corpus, scale=args.scale, limit_docs=args.limit_docs, repeat=args.repeat, procs=args.procs,
              log=lambda s: print(f"kb bench: {s}", file=sys.stderr, flush=True))
    if args.out:
        write_report(args.out, r)
        print(f"kb bench: 報告を書き出しました: {args.out}", file=sys.stderr)
    if args.json:
        print(json.dumps(r, ensure_ascii=False, indent=2))
    else:
        print(format_table(r))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-probe":
        sys.exit(_serve_probe(sys.argv[2]))
    sys.exit(2)
