"""The Japanese analyzer: base forms, folding, stop words, offsets, pickling, threads."""

import pickle
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.fields import KEYWORD

from indexer.index import counting
from indexer.index.counting import (
    bigram_counts,
    bigram_length,
    bigram_postings,
    bigram_terms,
    bigram_text,
    reading_counts,
    reading_terms,
    term_lister,
    text_counts,
    text_terms,
)
from indexer.text.analysis import (
    analyze,
    bigram_analyzer,
    japanese_analyzer,
    morphemes,
    reading_analyzer,
    strip_gloss,
)


@pytest.mark.parametrize(
    "text, terms",
    [
        ("内製化を進めた", ["内製", "化", "進める"]),
        ("サーバーとサーバ", ["サーバ", "サーバ"]),
        ("ＤＸ推進とDX", ["dx", "推進", "dx"]),
        ("ｸﾗｳﾄﾞ契約", ["クラウド", "契約"]),
        ("パブリッククラウドの直接契約", ["パブリック", "クラウド", "直接", "契約"]),
        ("防災と予算", ["防災", "予算"]),
        ("LGWANの分離", ["lgwan", "分離"]),
        ("えー、あのー、それはですね", []),
        ("費用は下がったか？", ["費用", "下がる"]),
        ("①自治体クラウド", ["1", "自治", "体", "クラウド"]),
    ],
)
def test_terms(text, terms):
    assert analyze(text) == terms


@pytest.mark.parametrize("lemma, base", [("クラウド-crowd", "クラウド"), ("サーバー-server", "サーバー"),
                                         ("内製", "内製"), ("Ｔ-シャツ", "Ｔ-シャツ")])
def test_strip_gloss(lemma, base):
    assert strip_gloss(lemma) == base


@pytest.mark.parametrize(
    "text, surface",
    [("ｸﾗｳﾄﾞ契約", ["ｸﾗｳﾄﾞ", "契約"]), ("ＤＸと内製", ["ＤＸ", "内製"]), ("行1\r\n　サーバー", ["行", "サーバー"])],
)
def test_offsets_point_into_original(text, surface):
    toks = [(t.startchar, t.endchar) for t in japanese_analyzer()(text, chars=True)]
    got = [text[s:e] for s, e in toks]
    assert [g for g in got if g in surface] == surface


def test_analyzer_pickles_without_tagger():
    a = japanese_analyzer()
    list(a("内製化"))  # creates the thread's tagger
    b = pickle.loads(pickle.dumps(a))
    assert [t.text for t in b("内製化")] == ["内製", "化"]


def test_one_tagger_per_thread_gives_same_results():
    texts = ["内製化を進めた", "自治体クラウドの直接契約", "防災と予算の話"] * 20
    expected = {t: analyze(t) for t in set(texts)}
    errors = []

    def work():
        for t in texts:
            if analyze(t) != expected[t]:
                errors.append(t)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def test_long_text_is_cut_and_offsets_stay_right():
    text = ("内製化の話です。" * 400) + "\n" + "サーバー"
    ms = morphemes(text)
    assert all(text[m.start:m.end].strip() for m in ms)
    assert text[ms[-1].start:ms[-1].end] == "サーバー"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_analyzer_never_raises_and_offsets_stay_inside(text):
    for t in japanese_analyzer()(text, chars=True, positions=True):
        assert 0 <= t.startchar <= t.endchar <= len(text)
        assert t.text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from("ｱｲｳｶﾞﾊﾟｰﾞﾟ内製化ＤＸ①㈱ 　\n\x00a"), max_size=60))
def test_folding_offsets_cover_original_characters(text):
    for m in morphemes(text):
        assert 0 <= m.start < m.end <= len(text)


# -- the indexing fast path gives the analyzers' own terms --------------------------------------------
FAST_CASES = [
    "内製化を進めた内製",
    "ＤＸとサーバーの更新。ｸﾗｳﾄﾞ移行は①から㈱まで",
    "LGWAN-ASPの活用\n\n行を分けた本文、サーバー、サーバ。",
    "ほうじょう座長と菅原さんが質問しました？！",
    "",
    "   \t\n",
]


def _analyzer_counts(analyzer, text):
    counts = {}
    for t in analyzer(text):
        counts[t.text] = counts.get(t.text, 0) + 1
    return counts


def _assert_fast_path_agrees(text):
    assert text_counts(text) == _analyzer_counts(japanese_analyzer(), text)
    assert reading_counts(text) == _analyzer_counts(reading_analyzer(), text)
    assert bigram_counts(text) == _analyzer_counts(bigram_analyzer(), text)


@pytest.mark.parametrize("text", FAST_CASES)
def test_fast_counts_equal_the_analyzers(text):
    _assert_fast_path_agrees(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("内製化をクラウドｸﾗｳﾄﾞサーバー進めたＤＸdx　 \n。、①㈱ほうじょう々ー本鈴方君大予")),
               max_size=60), st.booleans())
def test_fast_counts_equal_the_analyzers_on_any_text(text, from_nothing):
    if from_nothing:
        counting.forget()
    _assert_fast_path_agrees(text)


def test_term_lister_knows_only_this_modules_analyzers():
    from whoosh.analysis import StandardAnalyzer

    assert term_lister(japanese_analyzer()) is text_terms
    assert term_lister(reading_analyzer()) is reading_terms
    assert term_lister(bigram_analyzer()) is bigram_terms
    assert term_lister(StandardAnalyzer()) is None
    keyword = KEYWORD(scorable=True).analyzer
    for text in ("ホウジョウ マコト ホウジョウマコト", " a\tb\r\nc  ", ""):
        assert term_lister(keyword)(text) == [t.text for t in keyword(text)]


#: Lines whose dictionary words the fast path learns each way, in this order: from their surfaces tagged
#: together (内製, 進める), from every word of the lattice when alone they are taken differently (a name's
#: こうじ, 君), and from the whole line when the lattice leaves it unsure (本鈴's 鈴 once 本 and 及び are
#: known: two words with the same ids and cost, read リン and レイ; alone, 鈴 is スズ).
LEARNING_CASES = [
    "内製化を進めた内製",
    "植木こうじ君",
    "服部ゆくお君と原田　大君",
    "十三時に本会議の放送及び開会",
    "十三時に本鈴及び放送",
    "予鈴と本鈴、鈴を鳴らす",
    "この方が担当の方です。読み方と東の方",
]


@pytest.mark.parametrize("text", LEARNING_CASES)
def test_fast_path_learning_from_nothing_gives_the_analyzers_terms(text):
    counting.forget()  # nothing learned yet
    assert text_terms(text) == [t.text for t in japanese_analyzer()(text)]
    assert reading_terms(text) == [t.text for t in reading_analyzer()(text)]
    assert text_terms(text + "\n" + text) == [t.text for t in japanese_analyzer()(text)] * 2  # from what was learned


def test_fast_path_learns_each_way():
    counting.forget()
    seen = []
    learn = counting.learn_words

    def spy(rows, new, all_morphs=False):
        seen.append(all_morphs)
        learn(rows, new, all_morphs)

    parsed = []
    kb_tagger = counting.tagger

    def tagger(output="kb", all_morphs=False):
        if output == "kb":
            parsed.append(output)
        return kb_tagger(output, all_morphs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(counting, "learn_words", spy)
        mp.setattr(counting, "tagger", tagger)
        for text in LEARNING_CASES:
            text_terms(text)
    assert False in seen and True in seen  # from surfaces alone, and from the lattice
    assert parsed  # and at least one line tagged whole (本鈴)


def test_text_terms_are_the_analyzers_tokens_in_order():
    for text in FAST_CASES:
        assert text_terms(text) == [t.text for t in japanese_analyzer()(text)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("内製化をクラウドｸﾗｳﾄﾞＤＸdx　 \n。①㈱々ーAZ𠮷")), max_size=40),
                max_size=5))
def test_bigram_postings_of_many_texts_count_each_texts_bigrams(texts):
    docnums = [3 * i + 1 for i in range(len(texts))]
    names, tids, docs, freqs = bigram_postings(docnums, [bigram_text(t) for t in texts])
    got: dict[int, dict[str, int]] = {}
    for tid, doc, freq in zip(tids.tolist(), docs.tolist(), freqs.tolist(), strict=True):
        got.setdefault(doc, {})[names[tid]] = freq
    want = {d: bigram_counts(t) for d, t in zip(docnums, texts, strict=True) if bigram_counts(t)}
    assert got == want
    pairs = list(zip(tids.tolist(), docs.tolist(), strict=True))
    assert names == sorted(names) and pairs == sorted(pairs)
    assert [bigram_length(bigram_text(t)) for t in texts] == [sum(bigram_counts(t).values()) for t in texts]
