"""The query language: a small recursive-descent parser from what a member types to a tiny tree.

Grammar (OR binds tighter than AND, as in web search engines; NOT binds tightest)::

    query   := conj
    conj    := disj ( [AND] disj )*              words side by side: AND
    disj    := unary ( (OR | "|" | "｜") unary )*
    unary   := (NOT | "-" | "－")* primary        "-" only at the start of a word, phrase or "("
    primary := "(" conj ")" | '"' phrase '"' | field ":" value | word

Parentheses may be full width (（ ）), a phrase may be quoted with " “ ” or ＂. Only upper-case
OR, AND and NOT (also full width, ＯＲ) are operators: `or` inside a sentence stays a word.

Nothing is ever refused: malformed input (an unclosed quote or parenthesis, an operator with nothing
on one side, a lone "-") is read leniently as its words, and a Japanese note says how.

>>> show(parse("クラウド -契約").tree)
'(クラウド AND -契約)'
>>> show(parse("防災 予算 OR 人材").tree)
'(防災 AND (予算 OR 人材))'
>>> p = parse('(内製化 OR "推進体制" speaker:北条')
>>> show(p.tree), p.notes
('((内製化 OR "推進体制") AND speaker:北条)', ['閉じていない括弧「(」は無視しました。'])
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

#: Field names a `name:value` word may use (query-string filters), and the filter each one sets.
FILTER_FIELDS = {
    "speaker": "speaker", "話者": "speaker", "発言者": "speaker",
    "session": "session", "回": "session",
    "type": "type", "種類": "type",
    "part": "part", "パート": "part",
    "from": "from", "to": "to",
    "speaker_role": "speaker_role", "役職": "speaker_role",
}
MAX_DEPTH = 16  # parentheses nested deeper are ignored (a pasted text must not exhaust the stack)
OPEN = "(（"
CLOSE = ")）"
PIPES = "|｜"
QUOTES = '"＂“”'
MINUS = "-－−"
_SPECIAL = set(OPEN + CLOSE + PIPES + QUOTES)
_OPERATORS = {"OR": "or", "AND": "and", "NOT": "not"}


# -- the tree ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Word:
    """A word (or several words written together, such as 推進体制の整備) as typed."""

    text: str
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Phrase:
    """Quoted text, matched literally."""

    text: str
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True)
class Field:
    """A `name:value` filter (name already mapped to its filter, e.g. 話者 → speaker)."""

    name: str
    value: str


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Word | Phrase | Field | Not | And | Or


@dataclass
class Parsed:
    """The tree of a query (None when nothing searchable was typed), notes on how it was read, and
    whether an AND operator was written (words side by side are ANDed too, but typing AND says
    "keywords")."""

    tree: Node | None
    notes: list[str]
    explicit_and: bool = False


def show(node: Node | None) -> str:
    """A compact, unambiguous rendering of a tree (for tests and notes).

    >>> show(And((Word("A"), Or((Word("B"), Not(Phrase("C")))))))
    '(A AND (B OR -"C"))'
    """
    if node is None:
        return ""
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Phrase):
        return f'"{node.text}"'
    if isinstance(node, Field):
        return f"{node.name}:{node.value}"
    if isinstance(node, Not):
        return "-" + show(node.child)
    op = " AND " if isinstance(node, And) else " OR "
    return "(" + op.join(show(c) for c in node.children) + ")"


def walk(node: Node | None, negated: bool = False):
    """Every leaf (Word, Phrase, Field) of a tree with whether it sits under an odd number of NOTs."""
    if node is None:
        return
    if isinstance(node, Not):
        yield from walk(node.child, not negated)
    elif isinstance(node, And | Or):
        for c in node.children:
            yield from walk(c, negated)
    else:
        yield node, negated


def join(kind: type, items: list[Node]) -> Node | None:
    """An And/Or of `items`, flattened; a single item stands alone; none gives None."""
    flat: list[Node] = []
    for it in items:
        if it is None:
            continue
        flat.extend(it.children if isinstance(it, kind) else [it])
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


# -- tokens ------------------------------------------------------------------------------------
@dataclass
class _Token:
    kind: str  # word, phrase, field, or, and, not, neg, open, close
    text: str
    start: int
    end: int
    value: str = ""


def _operator(word: str) -> str | None:
    return _OPERATORS.get(unicodedata.normalize("NFKC", word))


def _closing_quote(text: str, start: int) -> int:
    for j in range(start, len(text)):
        if text[j] in QUOTES:
            return j
    return -1


def tokenize(text: str, notes: list[str]) -> list[_Token]:
    """The query's tokens; malformed pieces are dropped with a note in `notes`."""
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in OPEN or c in CLOSE:
            out.append(_Token("open" if c in OPEN else "close", c, i, i + 1))
            i += 1
        elif c in PIPES:
            out.append(_Token("or", c, i, i + 1))
            i += 1
        elif c in QUOTES:
            j = _closing_quote(text, i + 1)
            if j < 0:
                add_note(notes, f"閉じていない引用符「{c}」は無視し、続く語をそのまま検索しました。")
                i += 1
                continue
            if text[i + 1:j].strip():
                out.append(_Token("phrase", text[i + 1:j], i, j + 1))
            else:
                add_note(notes, "中身のない引用符は無視しました。")
            i = j + 1
        elif c in MINUS:
            nxt = text[i + 1] if i + 1 < n else ""
            if not nxt or nxt.isspace() or nxt in CLOSE or nxt in PIPES:
                add_note(notes, f"「{c}」の後に除外する語がないため、「{c}」は無視しました。")
            else:
                out.append(_Token("neg", c, i, i + 1))
            i += 1
        else:
            i = _word(text, i, out, notes)
    return out


def _word(text: str, i: int, out: list[_Token], notes: list[str]) -> int:
    """Read a word, an operator or a `name:value` filter starting at `i`; return where it ends."""
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
        j += 1
    word = text[i:j]
    name, sep, value = word.replace("：", ":").partition(":")
    if sep and name.lower() in FILTER_FIELDS:
        if not value and j < len(text) and text[j] in QUOTES:
            k = _closing_quote(text, j + 1)
            if k > j:
                value, j = text[j + 1:k], k + 1
        if value.strip():
            out.append(_Token("field", word, i, j, value.strip()))
        else:
            add_note(notes, f"「{name}:」の後に値がないため、この絞り込みは無視しました。")
        return j
    op = _operator(word)
    out.append(_Token(op, word, i, j) if op else _Token("word", word, i, j))
    return j


def add_note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def _balance(tokens: list[_Token], notes: list[str]) -> list[_Token]:
    """Drop parentheses without a partner (and pairs nested deeper than MAX_DEPTH), with a note."""
    stack: list[int] = []
    drop: set[int] = set()
    for k, t in enumerate(tokens):
        if t.kind == "open":
            stack.append(k)
        elif t.kind == "close":
            if stack:
                start = stack.pop()
                if len(stack) >= MAX_DEPTH:
                    drop.update((start, k))
                    add_note(notes, f"{MAX_DEPTH} 段より深い括弧は無視しました。")
            else:
                drop.add(k)
                add_note(notes, f"開いていない括弧「{t.text}」は無視しました。")
    for k in stack:
        drop.add(k)
        add_note(notes, f"閉じていない括弧「{tokens[k].text}」は無視しました。")
    return [t for k, t in enumerate(tokens) if k not in drop]


# -- the parser --------------------------------------------------------------------------------
_PRIMARY = {"word", "phrase", "field", "open"}
_UNARY = _PRIMARY | {"neg", "not"}


class _Parser:
    def __init__(self, tokens: list[_Token], notes: list[str]):
        self.tokens = tokens
        self.pos = 0
        self.notes = notes

    def peek(self, ahead: int = 0) -> str:
        k = self.pos + ahead
        return self.tokens[k].kind if k < len(self.tokens) else "end"

    def take(self) -> _Token:
        t = self.tokens[self.pos]
        self.pos += 1
        return t

    def dangling(self, t: _Token) -> None:
        add_note(self.notes, f"「{t.text}」の前か後に語がないため、「{t.text}」は無視しました。")

    def conj(self) -> Node | None:
        items: list[Node | None] = []
        while self.peek() not in ("end", "close"):
            kind = self.peek()
            if kind in ("and", "or"):
                t = self.take()
                if kind == "or" or not items or self.peek() not in _UNARY:
                    self.dangling(t)
                continue
            items.append(self.disj())
        return join(And, items)

    def disj(self) -> Node | None:
        items = [self.unary()]
        while self.peek() == "or":
            t = self.take()
            while self.peek() == "or":  # OR OR
                self.dangling(self.take())
            if self.peek() not in _UNARY:
                self.dangling(t)
                break
            if all(x is None for x in items):
                self.dangling(t)
            items.append(self.unary())
        return join(Or, items)

    def unary(self) -> Node | None:
        negations: list[_Token] = []
        while self.peek() in ("neg", "not"):
            negations.append(self.take())
        if self.peek() not in _PRIMARY:
            if negations:
                w = negations[-1].text
                add_note(self.notes, f"「{w}」の後に除外する語がないため、「{w}」は無視しました。")
            return None
        node = self.primary()
        if node is None or len(negations) % 2 == 0:
            return node
        return Not(node)

    def primary(self) -> Node | None:
        t = self.take()
        if t.kind == "open":
            inner = self.conj()
            if self.peek() == "close":
                self.take()
            if inner is None:
                add_note(self.notes, "中身のない括弧は無視しました。")
            return inner
        if t.kind == "phrase":
            return Phrase(t.text, (t.start, t.end))
        if t.kind == "field":
            return Field(FILTER_FIELDS[t.text.replace("：", ":").partition(":")[0].lower()], t.value)
        return Word(t.text, (t.start, t.end))


def parse(text: str) -> Parsed:
    """The tree of `text` and notes on anything read leniently; never raises."""
    notes: list[str] = []
    tokens = _balance(tokenize(text or "", notes), notes)
    tree = _Parser(tokens, notes).conj()
    return Parsed(tree, notes, any(t.kind == "and" for t in tokens) and tree is not None)
