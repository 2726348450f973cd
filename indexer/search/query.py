"""What a member typed, read as a search: its mode, the words to find and to exclude, filters, notes.

The grammar (OR, NOT, -, parentheses, "phrases", field:value) is `indexer.search.syntax`; ranking and
matching are `indexer.search.ranking` and `indexer.search.matching`. Two modes, decided by what was typed:

- Keyword mode: words and noun phrases, with particles or without (`ガバメントクラウドの費用`,
  `推進体制の整備`, `防災 予算`). A word written with particles is cut into its content words
  (ガバメントクラウド, 費用), and every content word must occur in the turn (a compound such as
  内製化 = 内製|化 within one passage), unless OR / NOT / parentheses say otherwise.
- Question mode (`indexer.search.intent` decides and says why): a question word, a final か・は・？・。,
  a predicate, words linked by case particles, a long description, or a noun phrase asking for a name,
  a number, a person, a date or a place. Every content word is optional and BM25 weighs them (ranked
  OR); quoted phrases must still occur and NOT / - still exclude; OR and parentheses add nothing to a
  ranked OR. A word all in hiragana (ないせいか) is a reading, not a question; typing AND means keywords.

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
from indexer.search.intent import QUESTION_WORDS, is_question
from indexer.search.syntax import And, Field, Node, Not, Or, Phrase, Word, join, show, walk
from indexer.text.analysis import analyze, japanese_analyzer

MAX_QUERY_CHARS = 1000
MAX_TERMS = 64
KEYWORD, QUESTION = "keyword", "question"
FILTER_FIELDS = syntax.FILTER_FIELDS

_HIRAGANA = re.compile(r"^[\u3041-\u309f]+$")


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
        parsed.content = [i for i in dict.fromkeys(refs) if b.leaves[i].word not in QUESTION_WORDS]
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
