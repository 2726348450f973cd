"""The second-stage re-rank of a question's top turns by the wording one sentence shares with it."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.bench.evaluate import ProductSearch
from indexer.search.ranking import RankParams
from indexer.search.rerank import answer_shape, answer_type_match, rerank, sentence_overlap

from helpers import write_jsonl

WEIGHTS = {"大仏": 2.0, "高さ": 1.0, "メー": 0.5, "ート": 0.5}  # bigram → IDF (total 4.0)


def test_sentence_overlap_is_the_best_single_sentence():
    text = "大仏殿は焼失した。\n大仏の高さは約15メートル。高さは諸説ある。"
    assert sentence_overlap(WEIGHTS, text) == pytest.approx(1.0)  # the second sentence holds every bigram
    assert sentence_overlap(WEIGHTS, "大仏殿は焼失した。高さは不明。") == pytest.approx(0.5)  # 大仏 alone wins
    assert sentence_overlap(WEIGHTS, "ＭＥＥＴ") == 0.0 and sentence_overlap({}, "大仏") == 0.0
    assert sentence_overlap(WEIGHTS, "大 仏の高さ") == pytest.approx(0.75)  # folded, spaces ignored


def test_rerank_reorders_by_score_times_overlap():
    order, new = rerank(WEIGHTS, ["大仏殿は焼失した。", "大仏の高さは約15メートル。"], np.array([10.0, 9.0]), 0.5)
    assert order.tolist() == [1, 0]
    assert new.tolist() == pytest.approx([10.0 * 1.25, 9.0 * 1.5])
    assert rerank(WEIGHTS, ["大仏殿", "大仏の高さ"], np.array([10.0, 9.0]), 0.0)[0].tolist() == [0, 1]


# Two paragraphs of one article (same title). The first names the question's words more often, but
# spread over sentences about other heights; the second holds them together in the one sentence
# the question was written from.
ARTICLE = "東大寺の大仏"
CORPUS = [
    {"id": "a1", "title": ARTICLE, "text": "奈良の大仏は何度も修理された。大仏殿の高さは約47メートル、"
     "大仏の台座の高さは約3メートルある。"},
    {"id": "a2", "title": ARTICLE, "text": "奈良の大仏の高さは約15メートルである。"},
    {"id": "b1", "title": "富士山", "text": "富士山は静岡県と山梨県にまたがる活火山で、標高は3776メートルである。"},
    {"id": "b2", "title": "琵琶湖", "text": "琵琶湖は滋賀県にある日本最大の湖で、淡水魚の漁業が盛んである。"},
]
QUESTION = "奈良の大仏の高さは何メートルか"


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    with ProductSearch(write_jsonl(tmp_path_factory.mktemp("rerank") / "corpus.jsonl", CORPUS), procs=1) as p:
        yield p


def test_rerank_moves_the_paragraph_sharing_the_wording_to_the_top(product):
    product.use(RankParams(rerank_weight=0.0))
    before = product(QUESTION)
    assert before[:2] == ["a1", "a2"]  # first stage: the paragraph naming 大仏 and 高さ most often wins
    product.use(RankParams(rerank_weight=0.3))
    after = product(QUESTION)
    assert after[:2] == ["a2", "a1"] and sorted(after) == sorted(before)
    hits = product.kb.search(QUESTION, role="secretariat").hits
    assert [h.id for h in hits][:2] == ["a2", "a1"] and hits[0].score >= hits[1].score
    assert "<mark>" in hits[0].snippet  # the stored fields read by the re-rank still make the snippet


def test_rerank_leaves_keywords_and_date_order_alone(product):
    product.use(RankParams(rerank_weight=0.3))
    on = product.kb.search("大仏 高さ", role="secretariat")
    product.use(RankParams(rerank_weight=0.0))
    off = product.kb.search("大仏 高さ", role="secretariat")
    assert on.mode == "keyword" and [h.id for h in on.hits] == [h.id for h in off.hits]
    product.use(RankParams(rerank_weight=0.3))
    by_date = product.kb.search(QUESTION, role="secretariat", sort="date")
    product.use(RankParams(rerank_weight=0.0))
    assert [h.id for h in by_date.hits] == [h.id for h in product.kb.search(QUESTION, role="secretariat",
                                                                             sort="date").hits]


def test_rerank_pages_are_consistent(product):
    product.use(RankParams(rerank_weight=0.3, rerank_depth=20))
    full = [h.id for h in product.kb.search(QUESTION, role="secretariat", page_size=10).hits]
    paged = [h.id for p in (1, 2, 3, 4) for h in product.kb.search(QUESTION, role="secretariat", page=p,
                                                                      page_size=1).hits]
    assert paged == full[:4]


# -- expected answer type ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question, answers, not_answers",
    [
        ("東京タワーが完成したのはいつ?", ["1958年", "昭和33年", "12月"], ["333メートル", "三人"]),
        ("大仏が造られたのは何世紀?", ["8世紀"], ["15メートル"]),
        ("大仏の高さは何メートルか", ["15メートル", "約十五メートル"], ["752年", "15センチ"]),
        ("何種類の魚がいるか", ["3種類", "12種"], ["3匹"]),       # 何種類 → 3種類 or 3種
        ("部員はいくつの班に分かれたか", ["五班", "2チーム", "30%"], ["班長"]),
    ],
)
def test_answer_shape_matches_what_the_interrogative_asks_for(question, answers, not_answers):
    shape = answer_shape(question)
    assert shape is not None
    assert all(shape.search(a) for a in answers) and not any(shape.search(a) for a in not_answers)


@pytest.mark.parametrize("question", ["大仏を設計したのは誰か", "何か問題はあったか", "何をしたのか",
                                      "何者だったか", "内製化の効果"])
def test_answer_shape_is_none_without_a_date_or_number_question(question):
    assert answer_shape(question) is None


def test_answer_type_match_wants_the_shape_in_the_sentence_holding_the_wording():
    shape = answer_shape("大仏の高さは何メートルか")
    q = "大仏の高さは何メートルか"
    assert answer_type_match(WEIGHTS, shape, q, "大仏殿は焼失した。\n大仏の高さは約15メートル。") == (1.0, 1.0)
    in_best, near = answer_type_match(WEIGHTS, shape, q, "大仏の高さには諸説あるが、ここでは扱わない。\n境内の塔は約40メートル。")
    assert in_best == 0.0 and near == pytest.approx(0.25)  # only メートル itself lies near the number
    assert answer_type_match(WEIGHTS, shape, q, "大仏の高さは不明。") == (0.0, 0.0)  # no number at all
    when = answer_shape("752年に開眼した大仏はいつ修理されたか")
    assert answer_type_match(WEIGHTS, when, "752年に開眼した大仏はいつ修理されたか",
                             "大仏は752年に開眼した。") == (0.0, 0.0)  # the question's own date is no answer


DATES = [
    {"id": "d1", "title": ARTICLE, "text": "大仏殿は焼失のたびに再建された。"},
    {"id": "d2", "title": ARTICLE, "text": "大仏殿は1709年に再建された。"},
] + CORPUS[2:]


def test_a_when_question_prefers_the_paragraph_with_a_date_by_its_wording(tmp_path):
    question = "大仏殿が再建されたのはいつ"
    with ProductSearch(write_jsonl(tmp_path / "corpus.jsonl", DATES), procs=1) as p:
        p.use(RankParams(answer_type_weight=0.0, answer_window_weight=0.0))
        assert p(question)[:2] == ["d1", "d2"]  # first stage: the two are alike, d1 comes first
        p.use(RankParams())
        assert p(question)[:2] == ["d2", "d1"]  # d2 holds a date beside them
        assert p("大仏殿が再建された理由")[:2] == ["d1", "d2"]  # no date asked: no change
