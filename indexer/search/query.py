"""What a member typed, read as a search: its mode, the words to find and to exclude, filters, notes.

The grammar (OR, NOT, -, parentheses, "phrases", field:value) is `indexer.search.syntax`; ranking and
matching are `indexer.search.ranking` and `indexer.search.matching`. Two modes, decided by what was typed:

- Keyword mode: words and noun phrases, with particles or without (`ガバメントクラウドの費用`,
  `推進体制の整備`, `防災 予算`). A word written with particles is cut into its content words
  (ガバメントクラウド, 費用), and every content word must occur in the turn (a compound such as
  内製化 = 内製|化 within one passage), unless OR / NOT / parentheses say otherwise.
- Question mode: a real question, i.e. a question word (何・どう・なぜ・いつ・誰・どの…), a final か, は or
  ？ / 。, or a predicate (a verb or adjective at the end, or after a case particle: 費用は下がった,
  職員が作ったアプリ). Every content word is optional and BM25 weighs them (ranked OR); quoted phrases
  must still occur and NOT / - still exclude. A query with OR (or an explicit AND) is in keyword mode.

A word also matches the speaker's name (田村 finds 田村's turns), with a lower weight.

>>> p = parse_query('ガバメントクラウドの費用 -契約 speaker:北条')
>>> (p.mode, p.groups, p.excluded, p.filters)
('keyword', [['ガバメント', 'クラウド'], ['費用']], ['契約'], {'speaker': '北条'})
>>> parse_query('内製化はどう進めたのか').mode
'question'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from indexer.search import syntax
from indexer.search.syntax import And, Field, Node, Not, Or, Phrase, Word, join, show, walk
from indexer.text.analysis import analyze, is_stop, japanese_analyzer, morphemes

MAX_QUERY_CHARS = 1000
MAX_TERMS = 64
KEYWORD, QUESTION = "keyword", "question"
FILTER_FIELDS = syntax.FILTER_FIELDS

_QUESTION_WORDS = frozenset(
    "何 なに なん どう どの どこ どれ どんな どなた どちら どっち なぜ 何故 いつ いつ頃 誰 だれ いくつ "
    "いくら どのよう どれくらい どのくらい どうして 如何 いかが どれほど どういう 何処 何時 幾つ 幾ら".split())
_FINAL_PARTICLES = frozenset("か かな かね っけ は とは って".split())
_SOFT_ENDINGS = frozenset("ね よ な ぞ わ の".split())  # 下がったのね: still ends in a predicate
_CASE_PARTICLES = frozenset("が を に で へ から まで より は も".split())
_ASKING_ENDINGS = ("名前", "名称", "略称", "別名", "愛称", "通称", "呼称", "名", "数", "者", "日", "年", "首都", "所在地",
                   "場所", "時期", "監督", "社長", "会長", "議長", "座長", "委員長", "市長", "町長", "村長", "知事", "首相",
                   "大統領", "代表")
_CONJUNCTIVE = frozenset("て で ば ても たら ながら つつ".split())
_HIRAGANA = re.compile(r"^[\u3041-\u309f]+$")
_PREDICATES = frozenset({"動詞", "形容詞", "助動詞"})
_SENTENCE_END = re.compile(r"[?？。．!！]\s*$")
_BLANK = frozenset({"補助記号", "空白"})


@dataclass(frozen=True)
class Leaf:
    """One thing to look up: a content word (its analyzed terms) or a quoted phrase."""

    word: str
    terms: tuple[str, ...]
    phrase: bool = False


@dataclass(frozen=True)
class Ref:
    """A leaf inside a match expression (an `And` / `Or` / `Not` tree of `indexer.search.syntax`)."""

    leaf: int


@dataclass
class ParsedQuery:
    """A query read for search (cached: treat as read-only).

    `groups` / `phrases` / `words` are what is scored (the positive words); `leaves` and `expr` are what
    decides a match: in keyword mode the whole query, in question mode only what must (not) occur besides
    the ranked words (phrases, exclusions). `content` lists the leaves of the question's content words,
    `positive` the leaves looked for (outside any NOT).
    """

    text: str
    mode: str = KEYWORD
    leaves: list[Leaf] = field(default_factory=list)
    expr: Node | Ref | None = None
    content: list[int] = field(default_factory=list)
    positive: list[int] = field(default_factory=list)
    groups: list[list[str]] = field(default_factory=list)
    phrases: list[bool] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    excluded_filters: list[tuple[str, str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        """The distinct terms scored (never an excluded word's)."""
        return list(dict.fromkeys(t for g in self.groups for t in g))

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def uses_operators(self) -> bool:
        """Whether the match expression holds an OR or a NOT (not just words side by side)."""
        return _uses_operators(self.expr)

    @property
    def positive_text(self) -> str:
        """The words looked for, as typed (no operator, filter or excluded word): what a question's
        character bigrams and re-ranking read."""
        return " ".join(self.words)


# -- keyword or question ----------------------------------------------------------------------------
def question_reason(text: str) -> str | None:
    """Why `text` (the words looked for, as typed) reads as a question, in Japanese; None for keywords
    and noun phrases.

    >>> [question_reason(q) for q in ("ガバメントクラウドの費用", "推進体制の整備", "防災 予算", "ないせいか")]
    [None, None, None, None]
    >>> question_reason("サーバーの費用は下がったか"), question_reason("ラオスの鉱業資源の開発の現状")
    ('文末の助詞（か・は…）', '助詞でつながる 3 語以上の説明')
    """
    text = text.strip()
    if not text:
        return None
    if _SENTENCE_END.search(text):
        return "文末の ？ や 。"
    ms = [m for m in morphemes(text) if m.tag not in _BLANK]
    if not ms:
        return None
    if any(m.surface in _QUESTION_WORDS or m.base_form in _QUESTION_WORDS for m in ms):
        return "疑問詞"
    last = text.split()[-1]
    reading = bool(_HIRAGANA.match(last)) and bool(analyze(last))  # ないせいか: a reading, not a question
    if ms[-1].tag == "助詞" and ms[-1].surface in _FINAL_PARTICLES and not reading:
        return "文末の助詞（か・は…）"
    if _has_predicate(ms):
        return "述語（動詞・形容詞）"
    if any(m.tag == "助詞" and m.surface in _CASE_PARTICLES and _is_content(n) for m, n in zip(ms, ms[1:], strict=False)):
        return "格助詞（が・を・に・で…）で続く語"
    if _runs(ms) >= 3 and sum(m.tag == "助詞" for m in ms) >= 2:
        return "助詞でつながる 3 語以上の説明"
    if _asks_for_value(ms):
        return "名前・数・人・日付・場所を問う名詞句"
    return None


def is_question(text: str) -> bool:
    """True for a natural-language question rather than keywords or a noun phrase.

    >>> [is_question(q) for q in ("ガバメントクラウド移行で費用は下がったか", "ガバメントクラウドの費用", "ないせいか")]
    [True, False, False]
    """
    return question_reason(text) is not None


def _is_content(m) -> bool:
    return not is_stop(m.tag, m.base_form)


def _runs(ms) -> int:
    """How many runs of content morphemes (words) the morphemes hold."""
    return sum(1 for i, m in enumerate(ms) if _is_content(m) and (i == 0 or not _is_content(ms[i - 1])))


def _asks_for_value(ms) -> bool:
    """A noun phrase of several words whose last word asks for a name, a number, a person (〜者, a role
    such as 監督 or 市長), a date or a place (〜の略称, 〜の市町村数, 〜の発明者, 〜の設立日, 〜の首都): an
    elliptical question.

    >>> [_asks_for_value(morphemes(q)) for q in ("フランス通信社の略称", "ガバメントクラウドの費用")]
    [True, False]
    """
    k = len(ms)
    while k and not _is_content(ms[k - 1]):
        k -= 1
    j = k
    while j and _is_content(ms[j - 1]):
        j -= 1
    head = "".join(m.surface for m in ms[j:k])
    linked = any(m.tag == "助詞" for m in ms[:j])
    return linked and len(head) >= 2 and head.endswith(_ASKING_ENDINGS)


def _has_predicate(ms) -> bool:
    """A verb, adjective or auxiliary at the end (費用は下がった); a conjugated verb or adjective (機関化
    された企業, 言えば); or one after a case particle or と (職員が作ったアプリ). Not one inside a compound
    (進め方, 見える化) or bare before a noun (新しい制度)."""
    k = len(ms) - 1
    while k > 0 and ms[k].tag == "助詞" and ms[k].surface in _SOFT_ENDINGS:
        k -= 1
    if ms[k].tag in _PREDICATES:
        return True
    linked = False
    for m, n in zip(ms, [*ms[1:], None], strict=True):
        if m.tag == "助詞" and (m.surface in _CASE_PARTICLES or m.surface == "と"):
            linked = True
        elif m.tag in ("動詞", "形容詞") and n is not None and (
                n.tag == "助動詞" or (n.tag == "助詞" and n.surface in _CONJUNCTIVE)):
            return True
        elif linked and m.tag in _PREDICATES and (n is None or n.tag != "接尾辞"):
            return True
    return False


def content_words(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(surface, terms) of each content word of a keyword: the runs of morphemes between particles and
    other stop words. A word all in hiragana stays whole (a reading: ないせいか is 内製化).

    >>> [w for w, _ in content_words("ガバメントクラウドの費用")], content_words("内製化")
    (['ガバメントクラウド', '費用'], [('内製化', ('内製', '化'))])
    """
    if _HIRAGANA.match(text.strip()):
        terms = tuple(analyze(text)[:MAX_TERMS])
        return [(text.strip(), terms)] if terms else []
    out: list[tuple[str, tuple[str, ...]]] = []
    run: list[str] = []
    start = end = 0
    budget = MAX_TERMS
    for t in japanese_analyzer()(text, chars=True, removestops=False):
        if t.stopped:
            if run:
                out.append((text[start:end], tuple(run)))
            run = []
            continue
        if budget <= 0:
            break
        budget -= 1
        if not run:
            start = t.startchar
        run.append(t.text)
        end = t.endchar
    if run:
        out.append((text[start:end], tuple(run)))
    return out


# -- building ---------------------------------------------------------------------------------------
class _Builder:
    """Leaves (deduplicated) and match expressions over them."""

    def __init__(self, notes: list[str]):
        self.leaves: list[Leaf] = []
        self.index: dict[Leaf, int] = {}
        self.notes = notes
        self.excluded: list[str] = []

    def add(self, leaf: Leaf) -> Ref:
        if leaf not in self.index:
            self.index[leaf] = len(self.leaves)
            self.leaves.append(leaf)
        return Ref(self.index[leaf])

    def word(self, w: Word) -> Node | Ref | None:
        return join(And, [self.add(Leaf(s, t)) for s, t in content_words(w.text)])

    def phrase(self, p: Phrase) -> Ref | None:
        terms = tuple(analyze(p.text)[:MAX_TERMS])
        return self.add(Leaf(p.text, terms, True)) if terms else None

    def expr(self, node: Node | None) -> Node | Ref | None:
        """Keyword semantics: every word must match (as the operators combine them)."""
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, Not):
            return self.negate(node)
        if isinstance(node, And | Or):
            return join(type(node), [self.expr(c) for c in node.children])
        return None

    def negate(self, node: Not) -> Not | None:
        inner = self.expr(node.child)
        if inner is None:
            syntax.add_note(self.notes, f"「-{show(node.child)}」には除外できる語がないため、無視しました。")
            return None
        self.excluded.append(show(node.child))
        return Not(inner)

    def constraints(self, node: Node | None) -> Node | Ref | None:
        """Question semantics: the words are ranked, not required; phrases and exclusions still hold."""
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, Not):
            return self.negate(node)
        if isinstance(node, And):
            return join(And, [self.constraints(c) for c in node.children])
        if isinstance(node, Or):  # an alternative without a condition (a plain word) holds for every turn
            alts = [self.constraints(c) for c in node.children]
            return None if any(a is None for a in alts) else join(Or, alts)
        return None


def _take_fields(tree: Node | None, notes: list[str]) -> tuple[Node | None, dict[str, str], list[tuple[str, str]]]:
    """The tree without its `field:value` leaves, the filters they set and the ones they exclude."""
    filters: dict[str, str] = {}
    excluded: list[tuple[str, str]] = []
    top = list(tree.children) if isinstance(tree, And) else [tree]
    for leaf, negated in walk(tree):
        if not isinstance(leaf, Field):
            continue
        if leaf not in top and Not(leaf) not in top:
            syntax.add_note(notes, f"絞り込み「{show(leaf)}」は OR や括弧の中に書いても検索全体にかかります。")
        if negated:
            excluded.append((leaf.name, leaf.value))
        else:
            filters[leaf.name] = leaf.value
    return _without_fields(tree), filters, excluded


def _without_fields(node: Node | None) -> Node | None:
    if isinstance(node, Field):
        return None
    if isinstance(node, Not):
        inner = _without_fields(node.child)
        return Not(inner) if inner is not None else None
    if isinstance(node, And | Or):
        return join(type(node), [_without_fields(c) for c in node.children])
    return node


def _reads_as_question(text: str, tree: Node | None, explicit_and: bool) -> bool:
    """A question unless AND was typed: judged on the words looked for, as typed (operators, filters
    and excluded words left out)."""
    if explicit_and:
        return False
    return is_question(" ".join(w for w, quoted in _question_chunks(text, tree) if not quoted))


def _question_chunks(text: str, tree: Node | None) -> list[tuple[str, bool]]:
    """A question's scored groups, as typed: its positive words (words written together with only
    parentheses or ｜ between them stay one group) and phrases."""
    found = sorted((x for x, neg in walk(tree) if isinstance(x, Word | Phrase) and not neg), key=lambda x: x.span)
    spans: list[list] = []  # [start, end, phrase or None]
    for x in found:
        gap = text[spans[-1][1]:x.span[0]] if spans else ""
        if (isinstance(x, Word) and spans and spans[-1][2] is None and gap
                and all(c in syntax.OPEN + syntax.CLOSE + syntax.PIPES for c in gap)):
            spans[-1][1] = x.span[1]
        else:
            spans.append([x.span[0], x.span[1], x if isinstance(x, Phrase) else None])
    return [(p.text, True) if p is not None else (text[s:e], False) for s, e, p in spans]


def parse_query(text: str) -> ParsedQuery:
    """Read the raw query string; never raises, whatever the input (cached: treat the result as read-only)."""
    return _parse_query(text)


@lru_cache(maxsize=512)
def _parse_query(text: str) -> ParsedQuery:
    text = (text or "").encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")[:MAX_QUERY_CHARS]
    read = syntax.parse(text)
    notes = list(read.notes)
    tree, filters, excluded_filters = _take_fields(read.tree, notes)
    parsed = ParsedQuery(text=text, filters=filters, excluded_filters=excluded_filters, notes=notes)
    b = _Builder(notes)
    if _reads_as_question(text, tree, read.explicit_and):
        parsed.mode = QUESTION
        parsed.expr = b.constraints(tree)
        words = [w for w, neg in walk(tree) if isinstance(w, Word) and not neg]
        refs = [r.leaf for w in words for r in _refs(b.word(w))]
        parsed.content = [i for i in dict.fromkeys(refs) if b.leaves[i].word not in _QUESTION_WORDS]
        parsed.positive = parsed.content + [i for i in sorted(_positive(parsed.expr)) if i not in parsed.content]
        for word, quoted in _question_chunks(text, tree):
            terms = analyze(word)[:MAX_TERMS]
            if terms:
                parsed.groups.append(terms)
                parsed.phrases.append(quoted)
                parsed.words.append(word)
    else:
        parsed.expr = b.expr(tree)
        parsed.positive = sorted(_positive(parsed.expr))
        for i in parsed.positive:
            leaf = b.leaves[i]
            parsed.groups.append(list(leaf.terms))
            parsed.phrases.append(leaf.phrase)
            parsed.words.append(leaf.word)
    parsed.leaves, parsed.excluded = b.leaves, b.excluded
    return parsed


def _uses_operators(node) -> bool:
    if isinstance(node, Or | Not):
        return True
    return isinstance(node, And) and any(_uses_operators(c) for c in node.children)


def _refs(node) -> list[Ref]:
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Not):
        return _refs(node.child)
    if isinstance(node, And | Or):
        return [r for c in node.children for r in _refs(c)]
    return []


def _positive(node, negated: bool = False) -> set[int]:
    """Leaves that occur outside any NOT (the words the query looks for, and so scores)."""
    if isinstance(node, Ref):
        return set() if negated else {node.leaf}
    if isinstance(node, Not):
        return _positive(node.child, not negated)
    if isinstance(node, And | Or):
        return set().union(*(_positive(c, negated) for c in node.children))
    return set()
