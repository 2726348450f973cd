"""The query language on the sample corpus (`corpus/`, indexed through the archive as `kb index` does),
searched as a member. For each query: its mode, its counts, the operators' effect and the highlights.

Expected turns are computed here from the documents themselves, not taken from the search: a turn holds
a word when one of its passages holds every analyzer token of the word, of one of its synonyms in
`corpus/synonyms.yaml`, or (a kana word) its reading; or when its speaker's name does (README 検索語の
書き方). A report's heading line (one short line without a sentence end) is left out when another turn
of its document is found (README 順位付け).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.archive import DataDir, index_corpus
from indexer.index.schema import split_passages
from indexer.search.browse import documents
from indexer.search.kb import KnowledgeBase
from indexer.search.query import Ref, parse_query
from indexer.search.syntax import And, Not
from indexer.text.analysis import (
    COMPOUND_MAX,
    analyze,
    is_stop,
    japanese_analyzer,
    morphemes,
    name_readings,
)
from indexer.text.normalize import fold_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ROLE = "member"
KANA = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc]+$")
SENTENCE_END = ("。", "．", ".", "！", "？", "!", "?")


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    data = DataDir.at(tmp_path_factory.mktemp("query-language"))
    return KnowledgeBase(index_corpus(CORPUS, data), data_dir=data.root)


# -- the reference: what each turn holds, read from the documents ------------------------------------
def squash(text: str) -> str:
    return "".join(fold_text(text).lower().split())


def readings(text: str) -> set[str]:
    """Readings the reading field indexes: each content word's."""
    return {m.reading for m in morphemes(text) if m.reading and not is_stop(m.tag, m.base_form)}


def reading_parts(reading: str, known: set[str]) -> set[str]:
    """A kana word's reading that no word has, cut into the fewest (2 to COMPOUND_MAX) known readings, the
    longest pieces first among equals (ないせいか → ナイセイ + カ): a passage holding them all holds the word."""
    def splits(rest: str, room: int):
        if not rest:
            yield ()
        for j in range(len(rest), 0, -1):
            if room and rest[:j] in known:
                yield from ((rest[:j], *tail) for tail in splits(rest[j:], room - 1))
    found = [p for p in splits(reading, COMPOUND_MAX) if len(p) > 1]
    if not found:
        return set()
    fewest = min(map(len, found))
    return set(max((p for p in found if len(p) == fewest), key=lambda p: [len(x) for x in p]))


@dataclass
class Turn:
    id: str
    doc_id: str
    speaker: str
    text: str
    passages: list[tuple[set[str], str, set[str]]]  # tokens, squashed text, readings
    speaker_tokens: set[str]
    speaker_readings: set[str]
    heading: bool


class Reference:
    def __init__(self, kb: KnowledgeBase):
        self.turns: list[Turn] = []
        for info in documents(kb, role=ROLE):
            doc = kb.document(info.id, role=ROLE)
            for seg in doc.segments:
                text = seg.text
                heading = (doc.type == "report" and not seg.speaker and "\n" not in text.strip()
                           and len(text.strip()) <= 80 and not text.strip().endswith(SENTENCE_END))
                self.turns.append(Turn(
                    doc.segment_id(seg.order), doc.id, seg.speaker, text,
                    [(set(analyze(p)), squash(p), readings(p)) for p in split_passages(text)],
                    set(analyze(" ".join(x for x in (seg.speaker, seg.speaker_role) if x))),
                    set(name_readings(seg.speaker).split()), heading))
        self.all = {t.id for t in self.turns}
        self.known_readings = set().union(*(rds for t in self.turns for _, _, rds in t.passages))
        groups = yaml.safe_load((CORPUS / "synonyms.yaml").read_text(encoding="utf-8"))
        self.synonyms = [[tuple(analyze(w)) for w in [k, *v]] for k, v in groups.items()]

    def alternatives(self, word: str) -> set[tuple[str, ...]]:
        terms = tuple(analyze(word))
        alts = {terms} if terms else set()
        for group in self.synonyms:
            if terms in group:
                alts |= set(group)
        return alts

    @cache  # noqa: B019 - one reference per test module
    def holds(self, word: str) -> frozenset[str]:
        """Turns holding `word` (README: the word, its synonyms, its reading; the speaker's name too)."""
        alts = self.alternatives(word)
        literal, reading, parts = "", "", set()
        if KANA.match(word):
            reading = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in word)
            parts = set() if reading in self.known_readings else reading_parts(reading, self.known_readings)
            if len(analyze(word)) > 1:  # cut apart by the analyzer: its reading, or the kana themselves
                alts.discard(tuple(analyze(word)))
                literal = squash(word)
        out = set()
        for t in self.turns:
            in_text = any(any(set(a) <= toks for a in alts) or (literal and literal in sq) or reading in rds
                          or (parts and parts <= rds) for toks, sq, rds in t.passages)
            in_name = any(set(a) <= t.speaker_tokens for a in alts) or reading in t.speaker_readings
            if in_text or in_name:
                out.add(t.id)
        return frozenset(out)

    def phrase(self, text: str) -> frozenset[str]:
        needle = squash(text)
        return frozenset(t.id for t in self.turns if any(needle in sq for _, sq, _ in t.passages))

    def speaker(self, name: str) -> frozenset[str]:
        return frozenset(t.id for t in self.turns if name in t.speaker)

    def eval(self, expr) -> set[str]:
        """Turns satisfying a reference expression: a word, ("phrase", text), ("speaker", name),
        ("and" | "or", …), ("not", x)."""
        if isinstance(expr, str):
            return set(self.holds(expr))
        op, *args = expr
        if op == "phrase":
            return set(self.phrase(args[0]))
        if op == "speaker":
            return set(self.speaker(args[0]))
        if op == "not":
            return self.all - self.eval(args[0])
        sets = [self.eval(a) for a in args]
        return set.intersection(*sets) if op == "and" else set.union(*sets)

    def without_repeated_headings(self, found: set[str], among: set[str] | None = None) -> set[str]:
        """`found` without the heading lines of documents with another found turn (in `among`)."""
        among = found if among is None else among
        by_id = {t.id: t for t in self.turns}
        bodies = {by_id[i].doc_id for i in among if not by_id[i].heading}
        return {i for i in found if not (by_id[i].heading and by_id[i].doc_id in bodies)}


@pytest.fixture(scope="module")
def ref(kb):
    return Reference(kb)


# -- what the search returns ---------------------------------------------------------------------
def every_hit(kb: KnowledgeBase, query: str):
    """The first page's result and every hit of every page."""
    first = kb.search(query, role=ROLE, page_size=100)
    hits = list(first.hits)
    page = 2
    while (page - 1) * 100 < first.total:
        hits += kb.search(query, role=ROLE, page=page, page_size=100).hits
        page += 1
    return first, hits


_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def marked(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """The snippet's plain text (ellipses dropped) and the spans of its <mark>s in it."""
    body = snippet.removeprefix("…").removesuffix("…")
    plain, spans, pos = [], [], 0
    for m in _MARK.finditer(body):
        plain.append(html.unescape(body[pos:m.start()]))
        start = sum(map(len, plain))
        plain.append(html.unescape(m.group(1)))
        spans.append((start, start + len(html.unescape(m.group(1)))))
        pos = m.end()
    plain.append(html.unescape(body[pos:]))
    return "".join(plain), spans


def check_marks(hit, phrases: tuple[str, ...] = ()) -> list[str]:
    """Every <mark> of the hit's snippet covers whole analyzer tokens of the turn (or a quoted phrase);
    returns the marked texts."""
    plain, spans = marked(hit.snippet)
    text = hit.text.replace("\n", " ")
    at = text.find(plain)
    assert at >= 0, (hit.id, plain)
    toks = [(t.startchar, t.endchar) for t in japanese_analyzer()(hit.text, chars=True, removestops=False)]
    starts, ends = {s for s, _ in toks}, {e for _, e in toks}
    out = []
    for s, e in spans:
        word = plain[s:e]
        out.append(word)
        whole = at + s in starts and at + e in ends
        assert whole or squash(word) in {squash(p) for p in phrases}, (hit.id, word, hit.snippet)
    return out


# -- the table -----------------------------------------------------------------------------------
KEYWORD_CASES = [
    # (query, expected turns as a reference expression, a piece of the expected note or "")
    ("クラウド -契約", ("and", "クラウド", ("not", "契約")), ""),
    ("クラウド NOT 契約", ("and", "クラウド", ("not", "契約")), ""),
    ("クラウド　－契約", ("and", "クラウド", ("not", "契約")), ""),  # 全角スペースと全角マイナス
    ("クラウド 契約", ("and", "クラウド", "契約"), ""),
    ("クラウド OR 内製化", ("or", "クラウド", "内製化"), ""),
    ("クラウド｜内製化", ("or", "クラウド", "内製化"), ""),
    ("クラウド|内製化", ("or", "クラウド", "内製化"), ""),
    ("クラウド ＯＲ 内製化", ("or", "クラウド", "内製化"), ""),
    ("ガバメントクラウドの費用", ("and", "ガバメントクラウド", "費用"), ""),
    ("ガバメントクラウド 費用", ("and", "ガバメントクラウド", "費用"), ""),
    ("推進体制の整備", ("and", "推進体制", "整備"), ""),
    ("防災 予算", ("and", "防災", "予算"), ""),
    ("防災の予算", ("and", "防災", "予算"), ""),
    ("（防災 OR 内製化） 予算", ("and", ("or", "防災", "内製化"), "予算"), ""),
    ("(防災 OR 内製化) 予算 -クラウド", ("and", ("or", "防災", "内製化"), "予算", ("not", "クラウド")), ""),
    ("予算 -(防災 OR 内製化)", ("and", "予算", ("not", ("or", "防災", "内製化"))), ""),
    ("予算 NOT （防災 OR 人材）", ("and", "予算", ("not", ("or", "防災", "人材"))), ""),
    ("内製化 AND 予算", ("and", "内製化", "予算"), ""),
    ('"推進体制"', ("phrase", "推進体制"), ""),
    ("“推進体制”", ("phrase", "推進体制"), ""),
    ("＂ガバメントクラウド移行＂", ("phrase", "ガバメントクラウド移行"), ""),
    ('クラウド -"直接契約"', ("and", "クラウド", ("not", ("phrase", "直接契約"))), ""),
    ("ないせいか", "ないせいか", ""),  # かなの読みで 内製化
    ("ぼうさい", "ぼうさい", ""),
    ("DX ＤＸ", "DX", ""),
    ("人材 speaker:北条", ("and", "人材", ("speaker", "北条")), ""),
    ("人材 -speaker:北条", ("and", "人材", ("not", ("speaker", "北条"))), ""),
    ("クラウド or 内製化", ("and", "クラウド", "or", "内製化"), ""),  # 小文字の or は語
    # malformed input: read as its words, with a note
    ('"クラウド', "クラウド", "引用符"),
    ("(内製化", "内製化", "括弧"),
    ("内製化)", "内製化", "括弧"),
    ("クラウド OR", "クラウド", "OR"),
    ("内製化 AND", "内製化", "AND"),
    ("クラウド -", "クラウド", "「-」"),
    # nothing found: says so, with what to try
    ("内製化 カピバラ", ("and", "内製化", "カピバラ"), "見つかりませんでした"),
    ("OR", None, "OR"),
    ("-", None, "「-」"),
    ("NOT", None, "NOT"),
    ("-契約", None, "除外する語だけ"),
]


def phrases_of(query: str) -> tuple[str, ...]:
    return tuple(leaf.word for leaf in parse_query(query).leaves if leaf.phrase)


@pytest.mark.parametrize("query, expected, note", KEYWORD_CASES)
def test_keyword_queries(kb, ref, query, expected, note):
    res, hits = every_hit(kb, query)
    assert res.mode == "keyword"
    want = set() if expected is None else ref.without_repeated_headings(ref.eval(expected))
    got = [h.id for h in hits]
    assert len(got) == len(set(got)) == res.total == res.total_all_terms == len(want)
    assert set(got) == want and res.total_some_terms == 0
    if note:
        assert note in res.message and any(note in n for n in res.notes)
    if not want:
        assert res.hits == [] and res.groups == []
    for h in hits:
        check_marks(h, phrases_of(query))


def test_exclusions_hold_and_or_is_a_union(kb, ref):
    both = {h.id for h in every_hit(kb, "クラウド 契約")[1]}
    without = {h.id for h in every_hit(kb, "クラウド -契約")[1]}
    cloud = {h.id for h in every_hit(kb, "クラウド")[1]}
    assert both and without and not both & without and both | without == cloud
    assert not without & ref.holds("契約") and all("契約" not in h.text for h in every_hit(kb, "クラウド -契約")[1])
    either = {h.id for h in every_hit(kb, "クラウド OR 内製化")[1]}
    insourcing = {h.id for h in every_hit(kb, "内製化")[1]}
    assert cloud <= either and insourcing <= either and either <= cloud | insourcing | ref.all


def test_parentheses_change_the_meaning(kb):
    grouped = {h.id for h in every_hit(kb, "(防災 OR 内製化) 予算")[1]}
    loose = {h.id for h in every_hit(kb, "防災 OR 内製化 予算")[1]}  # OR binds first: the same
    other = {h.id for h in every_hit(kb, "防災 OR (内製化 予算)")[1]}
    assert grouped == loose and grouped != other and {h.id for h in every_hit(kb, "防災")[1]} <= other


def test_full_width_forms_read_as_half_width(kb):
    for wide, narrow in [("クラウド　－契約", "クラウド -契約"), ("（防災 ｜ 内製化）　予算", "(防災 | 内製化) 予算"),
                         ("＂推進体制＂", '"推進体制"'), ("クラウド ＮＯＴ 契約", "クラウド NOT 契約")]:
        assert [h.id for h in every_hit(kb, wide)[1]] == [h.id for h in every_hit(kb, narrow)[1]]


def test_no_match_says_so_and_suggests(kb):
    res = kb.search("内製化 カピバラ", role=ROLE)
    assert res.total == 0 and res.hits == []
    assert "「内製化」「カピバラ」をすべて含む発言は見つかりませんでした" in res.message
    assert "カピバラ 0 件" in res.message and "内製化" in res.suggestions and "内製化 OR カピバラ" in res.suggestions
    assert all(kb.search(s, role=ROLE).total > 0 for s in res.suggestions)
    reading = kb.search("内政化", role=ROLE)  # another word read ないせいか: try the reading
    assert reading.total == 0 and "ないせいか" in reading.suggestions
    nothing = kb.search("防災訓練計画", role=ROLE)  # its reading finds nothing either: not suggested
    assert nothing.total == 0 and nothing.suggestions == [] and "見つかりませんでした" in nothing.message


QUESTION_CASES = [
    # (question, its content words, words it excludes)
    ("サーバーの費用は下がったか", ["サーバー", "費用", "下がる"], []),
    ("内製化はどう進めたのか", ["内製化", "進める"], []),
    ("ガバメントクラウド移行で費用は下がったか", ["ガバメントクラウド移行", "費用", "下がる"], []),
    ("人材はどう確保しましたか", ["人材", "確保"], []),
    ("防災DXの予算はどうやって確保したのですか？", ["防災DX", "予算", "確保"], []),
    ("内製化はどう進めたのか -クラウド", ["内製化", "進める"], ["クラウド"]),
    ("推進体制はなぜ必要なのか NOT 人材", ["推進体制", "必要"], ["人材"]),
]


@pytest.mark.parametrize("query, words, excluded", QUESTION_CASES)
def test_questions_are_ranked_and_counted_honestly(kb, ref, query, words, excluded):
    res, hits = every_hit(kb, query)
    assert res.mode == "question"
    found = {h.id for h in hits}
    assert len(found) == len(hits) == res.total == res.total_all_terms + res.total_some_terms > 0
    every = ref.without_repeated_headings(set.intersection(*(ref.eval(w) for w in words)), found | set())
    for w in excluded:
        every -= ref.holds(w)
        assert not found & ref.holds(w)
    assert every <= found and res.total_all_terms == len(every)
    assert {h.id for h in hits if h.all_terms} == every
    # a turn holding any of the question's own words is found (ranked OR), unless its heading repeats it
    typed = set()
    for w in words:
        terms = set(analyze(w))
        typed |= {t.id for t in ref.turns if any(terms <= toks for toks, _, _ in t.passages)}
    for w in excluded:
        typed -= ref.holds(w)
    assert ref.without_repeated_headings(typed, found) <= found
    assert f"すべての語を含む {res.total_all_terms} 件・一部の語を含む {res.total_some_terms} 件" in res.counts
    for h in hits:
        check_marks(h)


def test_marks_are_whole_words_never_pieces_of_others(kb):
    insourcing = every_hit(kb, "内製化")[1]
    assert any("インターネット" in h.snippet for h in insourcing)  # the snippet shows it, unmarked
    assert all("<mark>イン</mark>" not in h.snippet for h in insourcing)
    assert any("<mark>インハウス開発</mark>" in h.snippet for h in insourcing)  # the synonym, whole
    server = every_hit(kb, "サーバーの費用は下がったか")[1]
    assert all("<mark>サー</mark>" not in h.snippet and "<mark>サー</mark>ビス" not in h.snippet for h in server)
    assert any("<mark>サーバー</mark>" in h.snippet for h in server)
    assert all("<mark>ない</mark>" not in h.snippet for h in every_hit(kb, "ないせいか")[1])
    assert any("<mark>内製化</mark>" in h.snippet for h in every_hit(kb, "ないせいか")[1])
    assert all("<mark>契約</mark>" not in h.snippet for h in every_hit(kb, "クラウド -契約")[1])


def test_headings_only_when_nothing_else_of_their_document_matches(kb, ref):
    by_id = {t.id: t for t in ref.turns}
    hits = every_hit(kb, "内製化")[1]
    docs = {h.doc_id for h in hits if not by_id[h.id].heading}
    assert not any(by_id[h.id].heading and h.doc_id in docs for h in hits)
    only_titles = every_hit(kb, "座長講義")[1]  # section headings of the reports
    assert any(h.heading for h in only_titles) and all(h.heading == by_id[h.id].heading for h in only_titles)


def test_consecutive_hits_of_a_document_are_grouped(kb):
    res = kb.search("クラウド 契約", role=ROLE, page_size=10)
    assert [i for g in res.groups for i in [g.lead, *g.others]] == [h.id for h in res.hits]
    for g in res.groups:
        assert {h.doc_id for h in res.hits if h.id in [g.lead, *g.others]} == {g.doc_id}
    leads = [g.doc_id for g in res.groups]
    assert all(a != b for a, b in zip(leads, leads[1:], strict=False))  # no two groups of one document in a row
    assert any(g.others for g in res.groups) and any(g.label.startswith("同じ文書のほか") for g in res.groups)


def test_kb_search_prints_the_counts_and_the_groups(kb, capsys):
    from indexer.cli.commands import main

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as e:
            main(["--data", str(kb.data_dir), "search", *args, "--role", ROLE])
        assert e.value.code == 0
        return capsys.readouterr().out

    asked = json.loads(run("サーバーの費用は下がったか", "--json"))
    assert asked["mode"] == "question" and asked["total"] == asked["total_all_terms"] + asked["total_some_terms"] > 0
    assert [i for g in asked["groups"] for i in [g["lead"], *g["others"]]] == [h["id"] for h in asked["hits"]]
    assert {"heading", "all_terms"} <= set(asked["hits"][0]) and asked["counts"].startswith(f"{asked['total']} 件")
    assert run("サーバーの費用は下がったか").splitlines()[0] == asked["counts"]
    keywords = json.loads(run("クラウド 契約", "--json"))
    assert keywords["mode"] == "keyword" and keywords["total"] == keywords["total_all_terms"]
    plain = run("クラウド 契約")
    assert plain.splitlines()[0] == f"{keywords['total']} 件" and "同じ文書のほか" in plain
    nothing = json.loads(run("内製化 カピバラ", "--json"))
    assert nothing["total"] == 0 and nothing["hits"] == [] and nothing["notes"] and nothing["suggestions"]


# -- properties ----------------------------------------------------------------------------------
def to_reference(expr, leaves):
    """The search's own match expression as a reference expression (its meaning is checked, not its parse)."""
    if isinstance(expr, Ref):
        leaf = leaves[expr.leaf]
        return ("phrase", leaf.word) if leaf.phrase and len(squash(leaf.word)) > 1 else leaf.word
    if isinstance(expr, Not):
        return ("not", to_reference(expr.child, leaves))
    return ("and" if isinstance(expr, And) else "or", *(to_reference(c, leaves) for c in expr.children))


WORDS = ["クラウド", "契約", "内製化", "予算", "防災", "人材", "北条", "費用", '"推進体制"', "ないせいか"]
PIECES = WORDS + ["OR", "AND", "NOT", "-", "－", "|", "｜", "(", ")", "（", "）", '"', "の", "か", "？", "　"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.lists(st.sampled_from(PIECES), max_size=10).map(" ".join),
                 st.lists(st.sampled_from(PIECES), max_size=10).map("".join), st.text(max_size=30)))
def test_any_query_is_answered_and_its_operators_hold(kb, ref, query):
    res = kb.search(query, role=ROLE, page_size=100)
    assert res.total == res.total_all_terms + res.total_some_terms >= len(res.hits)
    parsed = parse_query(query)
    found = {h.id for h in res.hits}
    if parsed.mode == "keyword" and parsed.expr is not None and not parsed.empty and res.total <= 100:
        assert found == ref.without_repeated_headings(ref.eval(to_reference(parsed.expr, parsed.leaves)))
    top = parsed.expr.children if isinstance(parsed.expr, And) else [parsed.expr]
    for node in top:  # an exclusion that applies to the whole query is never dropped
        if isinstance(node, Not):
            assert not found & ref.eval(to_reference(node.child, parsed.leaves))
