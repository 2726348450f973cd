#!/usr/bin/env python3
"""Retrieval quality of the product against two lexical baselines, written to docs/quality.md.

Benchmarks (read-only, in ../shared/data): jsquad_retrieval, jaquad_retrieval, tokyo_assembly_qa —
each `corpus.jsonl` + `queries.jsonl` (the dev split). Engines:

- `fts5_trigram`: SQLite FTS5, `tokenize='trigram'`, the question's trigrams ORed, ranked by bm25()
  (questions shorter than 3 characters: LIKE, unranked).
- `bm25_fugashi`: Okapi BM25 (k1=1.2, b=0.75, Lucene idf) over fugashi (unidic-lite) surface tokens.
- `groonga_mecab`: Groonga with its MeCab tokenizer (`indexer.bench.groonga`): the question's nouns by
  Groonga's own MeCab ANDed, the first page filled from an OR when fewer than 10 match, scored with
  `scorer_tf_idf` (skipped, with how to install it, when `groonga` is missing).
- `kb 1` … `kb 9`: the product (`indexer.bench.evaluate`: its import, index and `KnowledgeBase.search`),
  as a cumulative ablation of its ranking steps, every step on the same index (built once per
  benchmark); `kb 9` is the shipped configuration, `RankParams()`.

Usage: python scripts/quality.py [--only jsquad_retrieval] [--engines fts5,bm25,groonga,kb] [--limit-queries N]
(no options: every benchmark, every engine and step, full dev splits; progress on stderr).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.bench import groonga  # noqa: E402
from indexer.bench.baselines import Bm25Fugashi, Fts5Trigram  # noqa: E402
from indexer.bench.evaluate import ANSWER_K, Variant, evaluate, evaluate_variants  # noqa: E402
from indexer.bench.speed import machine_note as bench_machine_note  # noqa: E402
from indexer.search.ranking import RankParams  # noqa: E402
from scripts.followup_quality import FOLLOWUP_END, FOLLOWUP_START  # noqa: E402

BENCHMARKS = ("jsquad_retrieval", "jaquad_retrieval", "tokyo_assembly_qa")
ENGINES = {"fts5": "fts5_trigram", "bm25": "bm25_fugashi", "groonga": "groonga_mecab", "kb": "kb (ablation steps 1–7)"}
K = 10

# Cumulative ablation of the product's ranking, all on one index per benchmark.
_OR_WHOLE_TURN = RankParams(k1=1.2, b=0.75, title_boost=0.0, bigram_boost=0.0, bigram_k1=1.2, bigram_b=0.75,
                            answer_share=0.0, turn_rest=1.0, rerank_weight=0.0, title_presence=0.0,
                            answer_type_weight=0.0, answer_window_weight=0.0)
_WINDOW = RankParams(**{**vars(_OR_WHOLE_TURN), "turn_rest": 0.0})
_ANSWERS = RankParams(**{**vars(_WINDOW), "answer_share": 0.8, "answer_own": 0.3})
_BIGRAMS = RankParams(**{**vars(_ANSWERS), "bigram_boost": 0.4})
_TUNED = RankParams(rerank_weight=0.0, title_presence=0.0, answer_type_weight=0.0, answer_window_weight=0.0)
_RERANK = RankParams(**{**vars(_TUNED), "rerank_weight": RankParams().rerank_weight})
_TITLE = RankParams(**{**vars(_RERANK), "title_presence": RankParams().title_presence})
SHIPPED = "kb 9: + first page also re-ranked by the answer the question asks for (a date, a number) = shipped"
SHIPPED_STEP = "kb 9"
STEPS: dict[str, Variant] = {
    "kb 1: AND over every term (naive)": Variant(_OR_WHOLE_TURN, all_terms_and=True),
    "kb 2: OR over terms, whole turn": Variant(_OR_WHOLE_TURN),
    "kb 3: + best passage per turn (window)": Variant(_WINDOW),
    "kb 4: + answers through their question": Variant(_ANSWERS),
    "kb 5: + character bigrams": Variant(_BIGRAMS),
    "kb 6: + tuned BM25 (k1 0.3, b 0.9) and title": Variant(_TUNED),
    "kb 7: + first page re-ranked by the sentence holding the question's wording": Variant(_RERANK),
    "kb 8: + a passage read under its document's title": Variant(_TITLE),
    SHIPPED: Variant(RankParams()),
}
STEP_NOTES = [
    "`kb 1`: the question's content terms (`parse_query(q).terms`) joined by `AND` and sent as keywords "
    "(keyword mode); a turn must hold every term, and when none does the query returns nothing (keyword mode "
    "never falls back to OR). Ranking parameters as `kb 2`.",
    "`kb 2`: the question as typed (OR mode: every content term adds its BM25 weight), classic BM25 "
    "(k1 1.2, b 0.75), a turn scored as the sum over all its passages (`turn_rest=1`), no title, no bigrams, "
    "no answer inheritance.",
    "`kb 3`: a turn scores as its best passage (`turn_rest=0`), so a long speech does not win by length.",
    "`kb 4`: an answer turn inherits a share of its question's score "
    "(`answer_share=0.8`, `answer_own=0.3`).",
    "`kb 5`: + the character-bigram side field (`bigram_boost=0.4`, bigram k1 1.2, b 0.75).",
    "`kb 6`: BM25 k1 0.3, b 0.9 on words and bigrams, title weight 0.2 "
    "(synonyms, kana readings and speaker weight are on in every step).",
    "`kb 7`: a question's first page (top 10 turns) re-ranked by score × "
    "(1 + 0.3 × the largest IDF-weighted share of the question's character bigrams that one sentence of the "
    "turn's best passage holds); the texts are the ones the snippets read anyway.",
    "`kb 8`: a word (for questions also a character bigram) of a document's title counts as one more "
    "occurrence in each matching passage of that document (`title_presence=1`: BM25 of tf + 1 instead of tf), "
    "as a Wikipedia paragraph is about its article without repeating its name; it adds no match.",
    "`kb 9`: `RankParams()` as shipped: in the same re-rank, a question asking for a date (いつ, 何年) or a "
    "number with a counter (何メートル, 何人, いくつ) adds 0.1 when the passage's best sentence holds such a "
    "value not already in the question, and 0.7 × the share of the question's bigram weight within 15 "
    "characters of one. These two weights were chosen on JSQuAD (best of a small grid there) and then "
    "measured on JaQuAD and Tokyo.",
]
TARGET_MRR = {"jsquad_retrieval": 0.935, "jaquad_retrieval": 0.90, "tokyo_assembly_qa": 0.95}
TARGET_ANSWER = {"tokyo_assembly_qa": 0.90}
TARGET_MEDIAN_MS = 5.0


def _check_steps() -> None:
    """The last step must be exactly the shipped defaults (`RankParams()`)."""
    assert STEPS[SHIPPED].params == RankParams()


_check_steps()


def read_corpus(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def summary(bench: str, label: str, r: dict) -> str:
    return (f"{bench:18} {label[:40]:40} n={r['queries']:5} MRR@{K}={r[f'mrr@{K}']:.3f} "
            f"R@{K}={r[f'recall@{K}']:.3f} nDCG@{K}={r[f'ndcg@{K}']:.3f} "
            f"ansR@{ANSWER_K}={fmt(r[f'answer_recall@{ANSWER_K}'])} med={r['latency_median_ms']:.1f}ms "
            f"p95={r['latency_p95_ms']:.1f}ms")


# -- running -------------------------------------------------------------------------------------------
@contextmanager
def baseline(engine: str, corpus: list[dict]) -> Iterator:
    """The baseline `engine` built over `corpus`: a callable question → ranked ids (closed afterwards)."""
    if engine != "groonga":
        yield Fts5Trigram(corpus) if engine == "fts5" else Bm25Fugashi(corpus)
        return
    with tempfile.TemporaryDirectory(prefix="kb-quality-groonga-") as tmp:
        analyser = groonga.Analyser()
        try:
            search = groonga.GroongaSearch(groonga.build(corpus, Path(tmp), groonga.CONFIGS["groonga_mecab"]), analyser)
            try:
                yield search
            finally:
                search.close()
        finally:
            analyser.close()


def run_baseline(engine: str, corpus_path: Path, queries_path: Path, limit: int | None) -> dict:
    t0 = time.perf_counter()
    with baseline(engine, read_corpus(corpus_path)) as fn:
        build = time.perf_counter() - t0
        res = evaluate(corpus_path, queries_path, k=K, limit=limit, search_fn=fn)
    res["build_seconds"] = round(build, 2)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def run_steps(bench: str, corpus_path: Path, queries_path: Path, limit: int | None) -> dict[str, dict]:
    """Every ablation step on one index: (build + queries) seconds of each step in `seconds`."""
    t: list[float | None] = [None]

    def progress(name: str, r: dict) -> None:
        now = time.perf_counter()
        r["query_seconds"] = round(now - (t[0] if t[0] is not None else t_start + r["build_seconds"]), 1)
        t[0] = now
        log(summary(bench, name, r) + f" ({r['query_seconds']:.0f}s, modes {r['modes']})")

    t_start = time.perf_counter()
    log(f"{bench}: building the kb index …")
    return evaluate_variants(corpus_path, queries_path, STEPS, k=K, limit=limit, progress=progress)


def targets(bench: str, rows: dict[str, dict]) -> str | None:
    """The issue's targets for this benchmark, checked against the shipped configuration's row."""
    shipped = rows.get(SHIPPED)
    if shipped is None or bench not in TARGET_MRR:
        return None
    checks = []
    exact = shipped["unrounded"]  # compared unrounded, shown to 4 decimals
    mrr_v = exact[f"mrr@{K}"]
    checks.append((f"MRR@{K} ≥ {TARGET_MRR[bench]:.3f}", f"{mrr_v:.4f}", mrr_v >= TARGET_MRR[bench]))
    if bench in TARGET_ANSWER:
        a = exact[f"answer_recall@{ANSWER_K}"]
        checks.append((f"answer R@{ANSWER_K} ≥ {TARGET_ANSWER[bench]:.2f}", "–" if a is None else f"{a:.4f}",
                       a is not None and a >= TARGET_ANSWER[bench]))
    parts = [f"{name}: {value} {'✅ met' if ok else '❌ not met'}" for name, value, ok in checks]
    met = all(ok for _, _, ok in checks)
    lat = [f"median {shipped['latency_median_ms']:.1f} ms (≤ {TARGET_MEDIAN_MS:g} ms: "
           f"{'yes' if shipped['latency_median_ms'] <= TARGET_MEDIAN_MS else 'no'})"]
    fts5 = rows.get("fts5")
    if fts5 is not None:
        lat.append(f"p95 {shipped['latency_p95_ms']:.1f} ms vs FTS5 {fts5['latency_p95_ms']:.1f} ms "
                   f"({'≤' if shipped['latency_p95_ms'] <= fts5['latency_p95_ms'] else '>'})")
    return (f"- **{bench}** — shipped (`{SHIPPED_STEP}`) {'meets' if met else 'does NOT meet'} the quality "
            f"target{'s' if len(checks) > 1 else ''}: {'; '.join(parts)}. "
            f"Latency here (indicative, see below): {', '.join(lat)}.")


def machine_note() -> str:
    return bench_machine_note()


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
        "median / p95 ms = latency per query (in-process, warm, nearest-rank p95). "
        "All `kb` steps of a benchmark run on the same index, built once.",
    ]
    if limit:
        lines.append(f"**Only the first {limit} queries of each benchmark were used** (`--limit-queries {limit}`); "
                     "benchmarks with fewer queries ran in full.")
    lines += [
        "",
        f"| benchmark | engine / step | queries | MRR@{K} | R@{K} | nDCG@{K} | answer R@{ANSWER_K} | median ms | p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for bench, rows in results.items():
        for engine, r in rows.items():
            label = ENGINES.get(engine, engine)
            if engine == SHIPPED:
                label = f"**{label}**"
            lines.append(f"| {bench} | {label} | {r['queries']} | {fmt(r[f'mrr@{K}'])} "
                         f"| {fmt(r[f'recall@{K}'])} | {fmt(r[f'ndcg@{K}'])} | {fmt(r[f'answer_recall@{ANSWER_K}'])} "
                         f"| {r['latency_median_ms']:.1f} | {r['latency_p95_ms']:.1f} |")
    target_lines = [t for bench, rows in results.items() if (t := targets(bench, rows))]
    if target_lines:
        lines += ["", f"## Targets (computed from the `{SHIPPED_STEP}` = shipped row)", "",
                  f"Issue targets on the dev split: MRR@{K} JSQuAD ≥ 0.935, JaQuAD ≥ 0.90, Tokyo Q&A ≥ 0.95; "
                  f"Tokyo answer R@{ANSWER_K} ≥ 0.90; latency median ≤ {TARGET_MEDIAN_MS:g} ms and "
                  "p95 ≤ FTS5's on the same configuration.", ""]
        lines += target_lines
    times = []
    for bench, rows in results.items():
        kb_rows = [r for e, r in rows.items() if e in STEPS]
        for e, r in rows.items():
            if e not in STEPS:
                query_s = r["seconds"] - r["build_seconds"]
                times.append(f"{bench}/{ENGINES[e]} {r['build_seconds']:.0f} + {query_s:.0f}")
        if kb_rows:
            times.append(f"{bench}/kb {kb_rows[0]['build_seconds']:.0f} + "
                         + " + ".join(f"{r['query_seconds']:.0f}" for r in kb_rows))
    first = next(iter(STEPS))
    empty_and = [f"{rows[first]['modes'].get('none', 0)} of {rows[first]['queries']} {bench} queries"
                 for bench, rows in results.items() if first in rows]
    lines += [
        "",
        "## What each step is",
        "",
        *[f"- {n}" for n in STEP_NOTES],
        "",
        "## Notes",
        "",
        "- Latency figures in this table come from the same machine, measured while other work "
        "(e.g. an index build) may be running on its 2 cores; they are indicative only. The latency reference is `kb bench` "
        "(docs/performance.md).",
        *([f"- `kb 1` returned nothing (no turn holds every term) for {', '.join(empty_and)}."]
          if empty_and else []),
        "- Index build + query time per run (s; kb: one build, then each step's queries): "
        + "; ".join(times) + ".",
        "- Baselines: `fts5_trigram` = SQLite FTS5 `tokenize='trigram'` over title + text, the question's distinct "
        "trigrams ORed, ranked by `bm25()`; `bm25_fugashi` = Okapi BM25 (k1 = 1.2, b = 0.75, Lucene idf) over "
        "fugashi/unidic-lite surface tokens of title + text; `groonga_mecab` = Groonga 13, `TokenMecab` "
        "(naist-jdic) and `NormalizerNFKC150` over title + text, the question's nouns (Groonga's own MeCab; not "
        "pronouns, suffixes or dependent nouns) ANDed, the first page filled from the same nouns ORed when fewer "
        "than 10 match, ranked by `scorer_tf_idf(title) || scorer_tf_idf(text)` (`indexer/bench/groonga.py`). "
        "`kb` steps = `kb eval`'s path "
        "(temporary data directory filled by `indexer.archive.import_jsonl`, as `kb import`, queries through "
        "`KnowledgeBase(index, params).search(role=\"secretariat\")`, "
        "via `indexer.bench.evaluate.evaluate_variants`).",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if FOLLOWUP_START in old:  # the follow-up section is scripts/followup_quality.py's: kept as it is
        lines += ["", FOLLOWUP_START + old.split(FOLLOWUP_START, 1)[1].split(FOLLOWUP_END, 1)[0] + FOLLOWUP_END, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get("KB_SHARED_DATA") or ROOT.parent / "shared" / "data"))
    p.add_argument("--only", choices=BENCHMARKS, action="append", help="run this benchmark only (repeatable)")
    p.add_argument("--engines", default="fts5,bm25,groonga,kb", help="comma-separated: fts5, bm25, groonga, kb")
    p.add_argument("--limit-queries", type=int, default=None)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "quality.md")
    p.add_argument("--no-write", action="store_true", help="print the results, do not write the Markdown")
    args = p.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        p.error(f"unknown engine(s): {', '.join(unknown)}")
    if "groonga" in engines and (why := groonga.missing()) is not None:
        log(f"{why}: groonga_mecab is skipped")
        engines.remove("groonga")
    t0 = time.perf_counter()
    results: dict[str, dict[str, dict]] = {}
    for bench in args.only or BENCHMARKS:
        corpus, queries = args.data / bench / "corpus.jsonl", args.data / bench / "queries.jsonl"
        if not corpus.is_file() or not queries.is_file():
            raise SystemExit(f"missing benchmark files in {args.data / bench}")
        rows = results.setdefault(bench, {})
        for engine in engines:
            if engine == "kb":
                rows.update(run_steps(bench, corpus, queries, args.limit_queries))
                continue
            log(f"{bench}: {ENGINES[engine]} …")
            r = run_baseline(engine, corpus, queries, args.limit_queries)
            rows[engine] = r
            log(summary(bench, ENGINES[engine], r) + f" ({r['seconds']:.0f}s)")
        if t := targets(bench, rows):
            log(t)
    total = time.perf_counter() - t0
    if not args.no_write:
        write_markdown(args.out, results, args.limit_queries, total)
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
