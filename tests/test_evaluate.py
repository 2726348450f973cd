"""`kb eval`: the metric functions, the command end to end, and a run on the real Tokyo assembly benchmark."""

from __future__ import annotations

import json
import math

import pytest

from indexer.bench.evaluate import evaluate, mrr, ndcg, percentile, recall
from indexer.cli.commands import run
from indexer.errors import KbError

from conftest import shared_path
from helpers import write_jsonl

INV3 = 1 / math.log2(3)  # gain of rank 2


@pytest.mark.parametrize(("ranked", "relevant", "k", "expected"), [
    (["a", "b", "c"], ["a"], 10, 1.0),
    (["a", "b", "c"], ["b"], 10, 0.5),
    (["a", "b", "c"], ["c", "b"], 10, 0.5),          # first relevant counts
    (["a", "b", "c"], ["z"], 10, 0.0),
    ([], ["a"], 10, 0.0),
    (["a", "b", "c"], ["c"], 2, 0.0),                # beyond k
    ([f"x{i}" for i in range(9)] + ["a"], ["a"], 10, 0.1),
])
def test_mrr(ranked, relevant, k, expected):
    assert mrr(ranked, relevant, k) == pytest.approx(expected)


@pytest.mark.parametrize(("ranked", "relevant", "k", "expected"), [
    (["a", "b"], ["a"], 10, 1.0),
    (["a", "b"], ["a", "c"], 10, 0.5),
    (["a", "b", "c"], ["c", "d", "e", "f"], 10, 0.25),
    (["a", "b", "c"], ["c"], 2, 0.0),                # beyond k
    (["a"], [], 10, 0.0),                            # no judgment: 0, not a division by zero
    ([], ["a"], 10, 0.0),
])
def test_recall(ranked, relevant, k, expected):
    assert recall(ranked, relevant, k) == pytest.approx(expected)


@pytest.mark.parametrize(("ranked", "relevant", "k", "expected"), [
    (["a", "b"], ["a"], 10, 1.0),
    (["x", "a"], ["a"], 10, INV3),                               # 0.6309
    (["a", "b"], ["a", "b"], 10, 1.0),
    (["x", "a"], ["a", "b"], 10, INV3 / (1 + INV3)),             # 0.3869
    (["a"], ["a", "b"], 10, 1 / (1 + INV3)),                     # 0.6131: the missing one lowers it
    (["x", "y", "a"], ["a"], 10, 0.5),                           # 1/log2(4)
    (["x", "a"], ["a"], 1, 0.0),                                 # beyond k
    (["a", "b", "c"], ["a", "b", "c"], 2, 1.0),                  # ideal DCG is cut at k too
    (["a"], [], 10, 0.0),
])
def test_ndcg(ranked, relevant, k, expected):
    assert ndcg(ranked, relevant, k) == pytest.approx(expected)


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([], 95, 0.0),
    ([5.0], 95, 5.0),
    (list(range(1, 21)), 95, 19),
    (list(range(1, 101)), 50, 50),
])
def test_percentile(values, p, expected):
    assert percentile(values, p) == expected


CORPUS = [
    {"id": "p1", "title": "富士山", "text": "富士山は静岡県と山梨県にまたがる活火山で、標高は3776メートルである。"},
    {"id": "p2", "title": "琵琶湖", "text": "琵琶湖は滋賀県にある日本最大の湖で、淡水魚の漁業が盛んである。"},
    {"id": "p3", "title": "将棋", "text": "将棋は二人で対局するボードゲームで、王将を詰ませた方が勝ちとなる。"},
    {"id": "p4", "title": "味噌", "text": "味噌は大豆を発酵させた調味料で、味噌汁の材料として使われる。"},
    {"id": "p5", "title": "新幹線", "text": "新幹線は日本の高速鉄道で、東海道新幹線は東京と新大阪を結ぶ。"},
    {"id": "p6", "title": "桜", "text": "桜は春に花を咲かせる樹木で、花見の習慣が各地にある。"},
]
QUERIES = [
    {"qid": "q1", "query": "琵琶湖はどの県にある湖ですか", "relevant": ["p2"]},
    {"qid": "q2", "query": "将棋で王将を詰ませるとどうなるか", "relevant": ["p3"], "relevant_answer": ["p3"]},
    {"qid": "q3", "query": "味噌の原料になる豆は何か", "relevant": ["p4"]},
]


def _write(tmp_path, corpus=CORPUS, queries=QUERIES):
    return write_jsonl(tmp_path / "corpus.jsonl", corpus), write_jsonl(tmp_path / "queries.jsonl", queries)


def test_eval_command_json(tmp_path, capsys):
    c, q = _write(tmp_path)
    assert run(["eval", "--corpus", str(c), "--queries", str(q), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"mrr@10", "recall@10", "ndcg@10", "answer_recall@5", "queries",
                        "latency_median_ms", "latency_p95_ms"}
    assert out["queries"] == 3
    assert out["mrr@10"] == 1.0 and out["recall@10"] == 1.0 and out["ndcg@10"] == 1.0
    assert out["answer_recall@5"] == 1.0
    assert out["latency_median_ms"] > 0 and out["latency_p95_ms"] >= out["latency_median_ms"]


def test_eval_command_table_and_limit(tmp_path, capsys):
    c, q = _write(tmp_path, queries=[{k: v for k, v in r.items() if k != "relevant_answer"} for r in QUERIES])
    assert run(["eval", "--corpus", str(c), "--queries", str(q), "--limit-queries", "2"]) == 0
    out = capsys.readouterr().out
    assert "MRR@10" in out and "1.000" in out and "質問数" in out
    res = evaluate(c, q, limit=1)
    assert res["queries"] == 1 and res["answer_recall@5"] is None


def test_evaluate_with_search_fn(tmp_path):
    c, q = _write(tmp_path)
    res = evaluate(c, q, search_fn=lambda text: ["p1", "p2", "p3", "p4"])
    assert res["mrr@10"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 4) / 3, abs=1e-4)
    assert res["recall@10"] == 1.0 and res["answer_recall@5"] == 1.0


@pytest.mark.parametrize(("bad", "message"), [
    (None, "見つかりません"),
    ('{"qid": "q1", "query": "x", "relevant": ["p1"]}\n{broken\n', "2 行目が JSON として読めません"),
    ('{"qid": "q1", "query": "x"}\n', "relevant"),
    ("", "質問がありません"),
])
def test_eval_errors_are_japanese_kb_errors(tmp_path, bad, message):
    c, q = _write(tmp_path)
    if bad is None:
        q = tmp_path / "missing.jsonl"
    else:
        q.write_text(bad, encoding="utf-8")
    with pytest.raises(KbError, match=message):
        run(["eval", "--corpus", str(c), "--queries", str(q)])


def test_eval_missing_corpus(tmp_path):
    _, q = _write(tmp_path)
    with pytest.raises(KbError, match="見つかりません"):
        run(["eval", "--corpus", str(tmp_path / "nope.jsonl"), "--queries", str(q)])


@pytest.mark.shared
def test_eval_tokyo_assembly_qa(capsys):
    corpus = shared_path("data/tokyo_assembly_qa/corpus.jsonl")
    queries = shared_path("data/tokyo_assembly_qa/queries.jsonl")
    assert run(["eval", "--corpus", str(corpus), "--queries", str(queries), "--limit-queries", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["queries"] == 20
    assert out["mrr@10"] > 0.5
    assert out["answer_recall@5"] is not None


# -- several ranking variants on one index ----------------------------------------------------------
MEETING = {"date": "2024-06-10", "meeting": "令和六年第二回定例会", "title": "令和六年第二回定例会"}
QA_CORPUS = [
    {"id": "m-0", "text": "ただいまから本日の会議を開きます。", "speaker": "議長（鈴木一郎君）",
     "speaker_name": "鈴木一郎", "speaker_role": "議長", **MEETING},
    {"id": "m-1", "text": "学校給食の無償化について、区市町村への財政支援を拡充すべきと考えるが、見解を伺います。",
     "speaker": "十番（山田花子君）", "speaker_name": "山田花子", "speaker_role": "十番", **MEETING},
    {"id": "m-2", "text": "子育て世帯の負担軽減は重要であり、今後とも必要な取組を着実に進めてまいります。",
     "speaker": "知事（佐藤次郎君）", "speaker_name": "佐藤次郎", "speaker_role": "知事", **MEETING},
    {"id": "m-3", "text": "道路の維持管理に関する予算が計上されております。", "speaker": "議長（鈴木一郎君）",
     "speaker_name": "鈴木一郎", "speaker_role": "議長", **MEETING},
]
QA_QUERIES = [{"qid": "q1", "query": "学校給食の無償化に向けた財政支援を拡充すべきではないか",
               "relevant": ["m-1", "m-2"], "relevant_answer": ["m-2"]}]


def test_evaluate_variants_one_index(tmp_path, monkeypatch):
    from indexer.bench import evaluate as ev
    from indexer.search.ranking import RankParams

    builds = []
    real_enter = ev.ProductSearch.__enter__

    def counting_enter(self):
        builds.append(self.corpus_path)
        return real_enter(self)

    monkeypatch.setattr(ev.ProductSearch, "__enter__", counting_enter)
    c, q = _write(tmp_path, corpus=QA_CORPUS, queries=QA_QUERIES)
    # the answer turn shares no content word with the query: only answer inheritance can find it
    assert not set(ev.all_terms_query(QA_QUERIES[0]["query"]).split()) & {"子育て", "世帯", "負担", "軽減"}
    seen = []
    res = ev.evaluate_variants(c, q, {
        "no answers": RankParams(answer_share=0.0),
        "answers": RankParams(answer_share=0.8, answer_own=0.3),
        "naive AND": ev.Variant(RankParams(), all_terms_and=True),
    }, progress=lambda name, r: seen.append(name))
    assert builds == [c]  # one index for every variant
    assert list(res) == seen == ["no answers", "answers", "naive AND"]
    for r in res.values():
        assert r["queries"] == 1 and r["latency_median_ms"] > 0
        assert {"mrr@10", "recall@10", "ndcg@10", "answer_recall@5", "build_seconds"} <= set(r)
    assert res["no answers"]["mrr@10"] == 1.0  # the question turn itself is found either way
    assert res["no answers"]["answer_recall@5"] == 0.0
    assert res["answers"]["answer_recall@5"] == 1.0
    assert res["answers"]["recall@10"] == 1.0 and res["no answers"]["recall@10"] == 0.5
    # naive AND: the question's 向ける / ない are in no turn, so nothing is returned (no OR fallback)
    assert res["naive AND"]["modes"] == {"none": 1} and res["naive AND"]["mrr@10"] == 0.0


def test_product_search_params_and_strict_and(tmp_path):
    from indexer.bench.evaluate import ProductSearch, Variant, all_terms_query
    from indexer.search.query import parse_query
    from indexer.search.ranking import RankParams

    c, _ = _write(tmp_path)
    with ProductSearch(c, params=RankParams(answer_share=0.0)) as product:
        assert product.kb.params.answer_share == 0.0
        assert product("琵琶湖はどの県にある湖ですか")[0] == "p2"
        product.use(Variant(RankParams(), all_terms_and=True))
        assert product.kb.params == RankParams()
        assert product("琵琶湖はどの県にある湖ですか")[0] == "p2"
        # no passage holds both terms: strict AND returns nothing instead of falling back to OR
        assert product("琵琶湖にある将棋の王将はどこか") == []
        assert product.modes["琵琶湖にある将棋の王将はどこか"] == "none"
    sent = all_terms_query("琵琶湖はどの県にある湖ですか")
    assert parse_query(sent).mode == "keyword" and {"琵琶", "湖"} <= set(sent.split())
