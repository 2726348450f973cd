#!/usr/bin/env python3
"""Retrieval quality of the product against two lexical baselines, written to docs/quality.md.

Benchmarks (read-only, in ../shared/data): jsquad_retrieval, jaquad_retrieval, tokyo_assembly_qa —
each `corpus.jsonl` + `queries.jsonl` (the dev split). Engines:

- `fts5_trigram`: SQLite FTS5, `tokenize='trigram'`, the question's trigrams ORed, ranked by bm25()
  (questions shorter than 3 characters: LIKE, unranked).
- `bm25_fugashi`: Okapi BM25 (k1=1.2, b=0.75, Lucene idf) over fugashi (unidic-lite) surface tokens.
- `kb (this build)`: `indexer.evaluate` — the product's import, index and `KnowledgeBase.search`.

Usage: python scripts/quality.py [--only jsquad_retrieval] [--engines fts5,bm25,kb] [--limit-queries N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.evaluate import ANSWER_K, evaluate  # noqa: E402

BENCHMARKS = ("jsquad_retrieval", "jaquad_retrieval", "tokyo_assembly_qa")
ENGINES = {"fts5": "fts5_trigram", "bm25": "bm25_fugashi", "kb": "kb (this build)"}
K = 10


def read_corpus(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# -- baseline (a): SQLite FTS5 trigram --------------------------------------------------------------
class Fts5Trigram:
    def __init__(self, corpus: list[dict]):
        if sqlite3.sqlite_version_info < (3, 34, 0):
            raise SystemExit(f"SQLite {sqlite3.sqlite_version} has no trigram tokenizer (needs >= 3.34)")
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, text, tokenize='trigram')")
        self.db.executemany("INSERT INTO docs (id, title, text) VALUES (?, ?, ?)",
                            ((str(d["id"]), str(d.get("title") or ""), str(d.get("text") or "")) for d in corpus))
        self.db.commit()

    @staticmethod
    def match_expr(query: str) -> str:
        """`"abc" OR "bcd" OR …` over the distinct trigrams of the question (whitespace removed)."""
        chars = "".join(query.split())
        grams = dict.fromkeys(chars[i:i + 3] for i in range(len(chars) - 2))
        return " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)

    def __call__(self, query: str) -> list[str]:
        chars = "".join(query.split())
        if not chars:
            return []
        if len(chars) < 3:
            like = "%" + chars.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.db.execute("SELECT id FROM docs WHERE title LIKE ? ESCAPE '\\' OR text LIKE ? ESCAPE '\\' "
                                   "LIMIT ?", (like, like, K))
        else:
            rows = self.db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
                                   (self.match_expr(chars), K))
        return [r[0] for r in rows]


# -- baseline (b): BM25 over fugashi surface tokens ---------------------------------------------------
class Bm25Fugashi:
    def __init__(self, corpus: list[dict], k1: float = 1.2, b: float = 0.75):
        import fugashi

        self.tagger = fugashi.Tagger()
        self.k1, self.b = k1, b
        self.ids: list[str] = []
        self.lengths: list[int] = []
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for n, d in enumerate(corpus):
            tf = Counter(self.tokens(f"{d.get('title') or ''}\n{d.get('text') or ''}"))
            self.ids.append(str(d["id"]))
            self.lengths.append(sum(tf.values()))
            for term, count in tf.items():
                self.postings.setdefault(term, []).append((n, count))
        self.avgdl = sum(self.lengths) / max(1, len(self.lengths))
        total = len(self.ids)
        self.idf = {t: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def tokens(self, text: str) -> list[str]:
        return [w.surface for w in self.tagger(text) if w.surface.strip()]

    def __call__(self, query: str) -> list[str]:
        scores: dict[int, float] = {}
        k1, b, avgdl, lengths = self.k1, self.b, self.avgdl, self.lengths
        for term in self.tokens(query):
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf[term]
            for n, tf in postings:
                scores[n] = scores.get(n, 0.0) + idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[n] / avgdl))
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:K]
        return [self.ids[n] for n, _ in best]


# -- running -------------------------------------------------------------------------------------------
def run_engine(engine: str, corpus_path: Path, queries_path: Path, limit: int | None) -> dict:
    t0 = time.perf_counter()
    if engine == "kb":
        res = evaluate(corpus_path, queries_path, k=K, limit=limit)
    else:
        corpus = read_corpus(corpus_path)
        fn = Fts5Trigram(corpus) if engine == "fts5" else Bm25Fugashi(corpus)
        build = time.perf_counter() - t0
        res = evaluate(corpus_path, queries_path, k=K, limit=limit, search_fn=fn)
        res["build_seconds"] = round(build, 2)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def machine_note() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPU(s) (shared with other work), "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


def fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def write_markdown(path: Path, results: dict, limit: int | None, total_seconds: float) -> None:
    lines = [
        "# Retrieval quality",
        "",
        f"Generated by `scripts/quality.py` on {dt.date.today().isoformat()} "
        f"(total run time {total_seconds / 60:.1f} min).",
        f"Machine: {machine_note()}.",
        "",
        "Dev split of each benchmark (`../shared/data/<name>/queries.jsonl`), binary relevance, "
        f"top {K}. answer R@{ANSWER_K}: Recall@{ANSWER_K} over `relevant_answer` (only tokyo_assembly_qa has it). "
        "ms = median latency per query (in-process, warm).",
    ]
    if limit:
        lines.append(f"**Only the first {limit} queries of each benchmark were used** (`--limit-queries {limit}`); "
                     "benchmarks with fewer queries ran in full.")
    lines += [
        "",
        f"| benchmark | engine | queries | MRR@{K} | R@{K} | nDCG@{K} | answer R@{ANSWER_K} | median ms | p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for bench, rows in results.items():
        for engine, r in rows.items():
            lines.append(f"| {bench} | {ENGINES[engine]} | {r['queries']} | {fmt(r[f'mrr@{K}'])} "
                         f"| {fmt(r[f'recall@{K}'])} | {fmt(r[f'ndcg@{K}'])} | {fmt(r[f'answer_recall@{ANSWER_K}'])} "
                         f"| {r['latency_median_ms']:.1f} | {r['latency_p95_ms']:.1f} |")
    lines += [
        "",
        "Index build + query time per run (s): "
        + "; ".join(f"{bench}/{ENGINES[e]} {r.get('build_seconds', 0):.0f} + {r['seconds'] - r.get('build_seconds', 0):.0f}"
                    for bench, rows in results.items() for e, r in rows.items()),
        "",
        "Baselines: `fts5_trigram` = SQLite FTS5 `tokenize='trigram'` over title + text, the question's distinct "
        "trigrams ORed, ranked by `bm25()`; `bm25_fugashi` = Okapi BM25 (k1 = 1.2, b = 0.75, Lucene idf) over "
        "fugashi/unidic-lite surface tokens of title + text. `kb (this build)` = `kb eval` "
        "(temporary index built by `documents_from_jsonl` + `build_index`, queries through "
        "`KnowledgeBase.search(role=\"secretariat\")`).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get("KB_SHARED_DATA") or ROOT.parent / "shared" / "data"))
    p.add_argument("--only", choices=BENCHMARKS, action="append", help="run this benchmark only (repeatable)")
    p.add_argument("--engines", default="fts5,bm25,kb", help="comma-separated: fts5, bm25, kb")
    p.add_argument("--limit-queries", type=int, default=None)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "quality.md")
    p.add_argument("--no-write", action="store_true", help="print the results, do not write the Markdown")
    args = p.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        p.error(f"unknown engine(s): {', '.join(unknown)}")
    t0 = time.perf_counter()
    results: dict[str, dict[str, dict]] = {}
    for bench in args.only or BENCHMARKS:
        corpus, queries = args.data / bench / "corpus.jsonl", args.data / bench / "queries.jsonl"
        if not corpus.is_file() or not queries.is_file():
            raise SystemExit(f"missing benchmark files in {args.data / bench}")
        for engine in engines:
            r = run_engine(engine, corpus, queries, args.limit_queries)
            results.setdefault(bench, {})[engine] = r
            print(f"{bench:20} {ENGINES[engine]:16} n={r['queries']:5} MRR@{K}={r[f'mrr@{K}']:.3f} "
                  f"R@{K}={r[f'recall@{K}']:.3f} nDCG@{K}={r[f'ndcg@{K}']:.3f} "
                  f"ansR@{ANSWER_K}={fmt(r[f'answer_recall@{ANSWER_K}'])} med={r['latency_median_ms']:.1f}ms "
                  f"p95={r['latency_p95_ms']:.1f}ms ({r['seconds']:.0f}s)", flush=True)
    total = time.perf_counter() - t0
    if not args.no_write:
        write_markdown(args.out, results, args.limit_queries, total)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
