"""`kb eval`: retrieval quality of the product search on a JSONL benchmark (corpus + queries).

The corpus is imported into a temporary data directory with the product's own write path
(`indexer.archive.import_jsonl`, as `kb import`), every query goes through `KnowledgeBase.search` exactly
as the CLI and the app call it, and hits are mapped back to corpus ids via `hit.id` (the segment
id of an imported JSONL line is the line's `id`).

Queries: `{"qid","query","relevant":[ids][,"relevant_answer":[ids]]}` per line.
Metrics (binary relevance): MRR@k, Recall@k, nDCG@k, Recall@5 over `relevant_answer`, latency.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.errors import KbError

if TYPE_CHECKING:
    from indexer.search.ranking import RankParams

ANSWER_K = 5

SearchFn = Callable[[str], Sequence[str]]


class EvalError(KbError):
    """The benchmark files cannot be used."""


# -- metrics (pure) ------------------------------------------------------------------------------
def mrr(ranked: Sequence[str], relevant, k: int = 10) -> float:
    """Reciprocal rank of the first relevant id in the top k (0 when none)."""
    rel = set(relevant)
    for i, doc in enumerate(ranked[:k], 1):
        if doc in rel:
            return 1.0 / i
    return 0.0


def recall(ranked: Sequence[str], relevant, k: int = 10) -> float:
    """Share of the relevant ids found in the top k (0 when there is no relevant id)."""
    rel = set(relevant)
    if not rel:
        return 0.0
    return len(rel & set(ranked[:k])) / len(rel)


def ndcg(ranked: Sequence[str], relevant, k: int = 10) -> float:
    """nDCG@k with binary gains: DCG = sum 1/log2(rank+1) over relevant hits, over the ideal DCG."""
    rel = set(relevant)
    if not rel:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, doc in enumerate(ranked[:k], 1):
        if doc in rel and doc not in seen:
            dcg += 1.0 / math.log2(i + 1)
        seen.add(doc)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
    return dcg / ideal


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(s)))
    return s[min(rank, len(s)) - 1]


# -- input ---------------------------------------------------------------------------------------
def load_queries(path: str | Path, limit: int | None = None) -> list[dict]:
    """Queries of a benchmark file, checked; the first `limit` when given."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"質問ファイルが見つかりません: {path}")
    out: list[dict] = []
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise EvalError(f"{path.name} {n} 行目が JSON として読めません: {e.msg}") from None
                if (not isinstance(rec, dict) or not isinstance(rec.get("query"), str)
                        or not isinstance(rec.get("relevant"), list)):
                    raise EvalError(f"{path.name} {n} 行目に query（文字列）と relevant（id の配列）がありません。")
                answer = rec.get("relevant_answer")
                if answer is not None and not isinstance(answer, list):
                    raise EvalError(f"{path.name} {n} 行目: relevant_answer は id の配列で指定してください。")
                out.append({"qid": str(rec.get("qid") or n), "query": rec["query"],
                            "relevant": [str(r) for r in rec["relevant"]],
                            "relevant_answer": [str(r) for r in answer] if answer is not None else None})
                if limit is not None and len(out) >= limit:
                    break
    except UnicodeDecodeError:
        raise EvalError(f"{path.name} は UTF-8 の JSONL ではありません。") from None
    if not out:
        raise EvalError(f"質問ファイルに質問がありません: {path}")
    return out


# -- the product ---------------------------------------------------------------------------------
class ProductSearch:
    """`KnowledgeBase.search` over a temporary index of a JSONL corpus; use as a context manager.

    Calling it returns the hit ids of one query; `modes[query]` keeps the mode the search used.
    The index is built with two processes, as `kb index --procs 2` would. `params` (default: the
    shipped `RankParams()`) can be swapped on the built index with `use()`.
    """

    def __init__(self, corpus_path: str | Path, k: int = 10, procs: int = 2,
                 params: RankParams | None = None):
        self.corpus_path = Path(corpus_path)
        self.k = k
        self.procs = procs
        self.params = params
        self.variant: Variant | None = None
        self.modes: dict[str, str] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.data = None
        self.index = None
        self.kb = None
        self.build_seconds = 0.0

    def __enter__(self) -> ProductSearch:
        from indexer import archive
        from indexer.search.kb import KnowledgeBase

        if not self.corpus_path.is_file():
            raise EvalError(f"コーパスファイルが見つかりません: {self.corpus_path}")
        t0 = time.perf_counter()
        self._tmp = tempfile.TemporaryDirectory(prefix="kb-eval-")
        self.data = archive.DataDir.at(self._tmp.name)
        try:
            archive.import_jsonl(self.data, self.corpus_path, procs=self.procs, actor="kb eval",
                                 max_bytes=self.corpus_path.stat().st_size)  # a benchmark, not an upload
            index = archive.open_index(self.data)
        except BaseException:
            self._tmp.cleanup()
            raise
        self.index = index
        self.kb = KnowledgeBase(index, self.params, data_dir=self.data.root)
        self.build_seconds = time.perf_counter() - t0
        return self

    def use(self, variant: Variant | RankParams) -> None:
        """Search the same index with other ranking parameters (and query handling) from now on."""
        from indexer.search.kb import KnowledgeBase

        self.variant = variant if isinstance(variant, Variant) else Variant(variant)
        self.params = self.variant.params
        self.kb = KnowledgeBase(self.index, self.params, data_dir=self.data.root)
        self.modes.clear()

    def __exit__(self, *exc) -> None:
        self.kb = None
        self.index = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __call__(self, query: str) -> list[str]:
        sent = query
        if self.variant is not None and self.variant.all_terms_and:
            sent = all_terms_query(query)
        res = self.kb.search(sent, role="secretariat", page_size=self.k)
        self.modes[query] = res.mode if res.total else "none"  # "none": nothing found
        return [h.id for h in res.hits]


@dataclass
class Variant:
    """One row of an ablation: ranking parameters, and optionally the naive AND of every query term."""

    params: RankParams
    all_terms_and: bool = False


def all_terms_query(text: str) -> str:
    """The query's content terms joined by AND: keyword mode, every term required (a keyword query never
    falls back to OR: when no turn holds every term, it finds nothing).

    >>> all_terms_query("琵琶湖はどの県にある湖ですか")
    '琵琶 AND 湖 AND 県'
    """
    from indexer.search.query import parse_query

    return " AND ".join(parse_query(text).terms)


# -- evaluation ----------------------------------------------------------------------------------
def score(queries: list[dict], search_fn: SearchFn, k: int = 10, details: bool = False) -> dict:
    """Run every query through `search_fn` (query text → ranked ids) and average the metrics."""
    rr, rec, nd, ans, lat = [], [], [], [], []
    rows = []
    for q in queries:
        t0 = time.perf_counter()
        ranked = list(search_fn(q["query"]))
        lat.append((time.perf_counter() - t0) * 1000)
        rr.append(mrr(ranked, q["relevant"], k))
        rec.append(recall(ranked, q["relevant"], k))
        nd.append(ndcg(ranked, q["relevant"], k))
        if q.get("relevant_answer"):
            ans.append(recall(ranked, q["relevant_answer"], ANSWER_K))
        if details:
            rows.append({**q, "ranked": ranked[:k], "rr": rr[-1], "recall": rec[-1]})
    n = len(queries)
    out = {
        f"mrr@{k}": round(sum(rr) / n, 4) if n else 0.0,
        f"recall@{k}": round(sum(rec) / n, 4) if n else 0.0,
        f"ndcg@{k}": round(sum(nd) / n, 4) if n else 0.0,
        f"answer_recall@{ANSWER_K}": round(sum(ans) / len(ans), 4) if ans else None,
        "queries": n,
        "latency_median_ms": round(statistics.median(lat), 2) if lat else 0.0,
        "latency_p95_ms": round(percentile(lat, 95), 2),
        # unrounded means, for threshold checks
        "unrounded": {f"mrr@{k}": sum(rr) / n if n else 0.0,
                      f"answer_recall@{ANSWER_K}": sum(ans) / len(ans) if ans else None},
    }
    if details:
        out["per_query"] = rows
    return out


def evaluate(corpus_path: str | Path, queries_path: str | Path, k: int = 10, limit: int | None = None,
             search_fn: SearchFn | None = None, details: bool = False) -> dict:
    """Metrics of `search_fn` (default: the product, on a temporary index of the corpus)."""
    if k < 1:
        raise EvalError("--k は 1 以上で指定してください。")
    if limit is not None and limit < 1:
        raise EvalError("--limit-queries は 1 以上で指定してください。")
    queries = load_queries(queries_path, limit)
    if search_fn is not None:
        return score(queries, search_fn, k, details)
    from indexer.search.kb import MAX_PAGE_SIZE

    with ProductSearch(corpus_path, k=min(max(k, ANSWER_K), MAX_PAGE_SIZE)) as product:
        result = score(queries, product, k, details)
        result["build_seconds"] = round(product.build_seconds, 2)
        if details:
            for row in result["per_query"]:
                row["mode"] = product.modes.get(row["query"], "")
    return result


def evaluate_variants(corpus_path: str | Path, queries_path: str | Path,
                      variants: Mapping[str, Variant | RankParams], k: int = 10, limit: int | None = None,
                      progress: Callable[[str, dict], None] | None = None) -> dict[str, dict]:
    """Metrics of several ranking variants on ONE temporary index of the corpus (built once).

    Each variant's latency is measured after one warm-up query. `progress(name, metrics)` is called
    after each variant.
    """
    if k < 1:
        raise EvalError("--k は 1 以上で指定してください。")
    if limit is not None and limit < 1:
        raise EvalError("--limit-queries は 1 以上で指定してください。")
    if not variants:
        raise EvalError("評価する設定がありません。")
    queries = load_queries(queries_path, limit)
    from indexer.search.kb import MAX_PAGE_SIZE

    out: dict[str, dict] = {}
    with ProductSearch(corpus_path, k=min(max(k, ANSWER_K), MAX_PAGE_SIZE)) as product:
        for name, variant in variants.items():
            product.use(variant)
            product(queries[0]["query"])  # warm-up: snapshot and caches loaded before timing
            result = score(queries, product, k, details=True)
            result["build_seconds"] = round(product.build_seconds, 2)
            # queries per search mode ("none": nothing found, e.g. a strict-AND variant where no turn held every term)
            modes = _count(product.modes[row["query"]] for row in result.pop("per_query"))
            result["modes"] = dict(sorted(modes.items()))
            out[name] = result
            if progress is not None:
                progress(name, result)
    return out


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


# -- CLI plugin ----------------------------------------------------------------------------------
def register(subparsers) -> list[str]:
    s = subparsers.add_parser("eval", help="ベンチマーク（コーパス＋質問の JSONL）で検索品質を測る")
    s.add_argument("--corpus", type=Path, required=True, help="コーパス JSONL（1 行 1 文書・発言）")
    s.add_argument("--queries", type=Path, required=True, help='質問 JSONL（{"qid","query","relevant":[…]}）')
    s.add_argument("--k", type=int, default=10, help="評価する上位件数（既定 10）")
    s.add_argument("--limit-queries", type=int, default=None, help="先頭 N 件の質問だけを使う")
    s.add_argument("--json", action="store_true")
    return ["eval"]


def run(args, data) -> int:  # data unused: the evaluation always uses its own temporary data directory
    res = evaluate(args.corpus, args.queries, k=args.k, limit=args.limit_queries)
    k = args.k
    if args.json:
        keys = (f"mrr@{k}", f"recall@{k}", f"ndcg@{k}", f"answer_recall@{ANSWER_K}", "queries",
                "latency_median_ms", "latency_p95_ms")
        print(json.dumps({key: res[key] for key in keys}, ensure_ascii=False, indent=2))
        return 0
    ans = res[f"answer_recall@{ANSWER_K}"]
    rows = [
        (f"MRR@{k}", f"{res[f'mrr@{k}']:.3f}"),
        (f"Recall@{k}", f"{res[f'recall@{k}']:.3f}"),
        (f"nDCG@{k}", f"{res[f'ndcg@{k}']:.3f}"),
        (f"回答 Recall@{ANSWER_K}", "-" if ans is None else f"{ans:.3f}"),
        ("質問数", str(res["queries"])),
        ("応答時間 中央値", f"{res['latency_median_ms']:.1f} ms"),
        ("応答時間 p95", f"{res['latency_p95_ms']:.1f} ms"),
        ("索引作成", f"{res.get('build_seconds', 0):.1f} s"),
    ]
    print(f"評価: {args.corpus.name} / {args.queries.name}")
    for label, value in rows:
        print(f"  {label:<16} {value:>10}")
    return 0
