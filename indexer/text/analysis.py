"""The one Japanese analyzer (fugashi + unidic-lite), used for indexing and for queries.

Composed like `whoosh.analysis`: ``JapaneseTokenizer() | PosStopFilter() | LowercaseFilter() |
ProlongedSoundFilter()``. The tokenizer folds the text (NFKC) before tagging, emits base forms
without unidic's English glosses, and reports character offsets in the *original* text.

The fugashi `Tagger` cannot be pickled and must not be shared across threads: it lives in a
thread-local, created lazily, never in the analyzer's pickled state.

>>> [t.text for t in japanese_analyzer()("内製化を進めた")]
['内製', '化', '進める']
"""

from __future__ import annotations

import operator
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer

from indexer.text.normalize import fold, fold_text

#: Bump when tokens change: an index built with another version is rebuilt.
ANALYZER_VERSION = 7  # 7: no compound readings (found as their words' readings)

STOP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号", "感動詞", "接続詞", "代名詞"})
STOP_WORDS = frozenset(
    "する ある いる なる おる れる られる せる させる こと もの よう ため とき ところ これ それ あれ "
    "この その あの ここ そこ どれ どの ので "
    "何 なに なん いくら いくつ なぜ 何故 どう どんな どのよう どのくらい どれくらい".split()
)
_GLOSS = re.compile(r"^(.+?)-[A-Za-z][A-Za-z .'&-]*$")
_KATAKANA_WORD = re.compile(r"^[\u30a1-\u30fa\u30fc]+$")
_KANA_WORD = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc]+$")
#: Longest piece of text tagged at once (a longer line is cut after 。).
MAX_CHUNK = 2000
_local = threading.local()


_RC = Path(__file__).with_name("mecabrc")


def tagger(output: str = "kb", all_morphs: bool = False):
    """This thread's tagger: unidic-lite, printing one `surface\tpos1\torthBase\tkana` line per morpheme
    (`output`: another format of `mecabrc`; `all_morphs`: every word of the lattice, not only the best path)."""
    key = (output, all_morphs)
    taggers = getattr(_local, "taggers", None)
    if taggers is None:
        taggers = _local.taggers = {}
    tagger = taggers.get(key)
    if tagger is None:
        import fugashi
        import unidic_lite

        tagger = fugashi.GenericTagger(f'-r "{_RC}" -d "{unidic_lite.DICDIR}" -O{output}' + (" -a" if all_morphs else ""))
        taggers[key] = tagger
    return tagger


@dataclass(frozen=True)
class Morpheme:
    """One morpheme of folded text with its offsets in the original text."""

    surface: str
    base_form: str
    tag: str
    reading: str
    start: int
    end: int


def strip_gloss(lemma: str) -> str:
    """Drop unidic's English gloss from a lemma.

    >>> strip_gloss("クラウド-crowd")
    'クラウド'
    """
    m = _GLOSS.match(lemma)
    return m.group(1) if m else lemma


def base_form(orth_base: str, surface: str) -> str:
    """The base form from unidic's orthBase column (the surface when it has none), without gloss."""
    if orth_base in ("", "*"):
        return surface
    return strip_gloss(orth_base) if "-" in orth_base else orth_base


def chunks(text: str) -> Iterator[tuple[int, str]]:
    """Lines of `text` (long lines cut after 。) with their offsets: MeCab is fastest on short input."""
    offset = 0
    for line in text.split("\n"):
        if len(line) <= MAX_CHUNK:
            if line.strip():
                yield offset, line
        else:
            start = 0
            while start < len(line):
                cut = line.rfind("。", start, start + MAX_CHUNK)
                stop = cut + 1 if cut > start else min(len(line), start + MAX_CHUNK)
                yield offset + start, line[start:stop]
                start = stop
        offset += len(line) + 1


def morphemes(text: str) -> list[Morpheme]:
    """Tag `text` after folding; offsets point into `text` itself.

    The last few results are remembered per thread: the `text` and `reading` fields of one passage
    are analyzed from the same tagging.

    >>> [(m.surface, m.base_form) for m in morphemes("ｻｰﾊﾞｰ")]
    [('サーバー', 'サーバー')]
    """
    return remembered("memo", 8, _morphemes, text)


def remembered(name: str, size: int, compute, text: str):
    """`compute(text)`, remembered for this thread's last `size` texts (cache `name`)."""
    memo = getattr(_local, name, None)
    if memo is None:
        memo = OrderedDict()
        setattr(_local, name, memo)
    out = memo.get(text)
    if out is None:
        out = memo[text] = compute(text)
        if len(memo) > size:
            memo.popitem(last=False)
    return out


def _morphemes(text: str) -> list[Morpheme]:
    folded = fold(text or "")
    parse = tagger().parse
    span = folded.span
    out: list[Morpheme] = []
    for offset, chunk in chunks(folded.text):
        pos = 0
        for row in parse(chunk).split("\n"):
            if not row:
                continue
            surface, tag, base, reading = (row.split("\t") + ["", "", ""])[:4]
            found = chunk.find(surface, pos)
            start = found if found >= 0 else pos
            end = start + len(surface)
            pos = end
            base = base_form(base, surface)
            o_start, o_end = span(offset + start, offset + end)
            out.append(Morpheme(surface, base, tag, "" if reading == "*" else reading, o_start, o_end))
    return out


class JapaneseTokenizer(Tokenizer):
    """Whoosh tokenizer emitting base forms, with `surface`, `tag` and `reading` on each token."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.surface, t.tag, t.reading = value, "名詞", ""
            t.boost, t.stopped = 1.0, False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for i, m in enumerate(morphemes(value)):
            t.text = m.base_form
            t.surface, t.tag, t.reading = m.surface, m.tag, m.reading
            t.boost, t.stopped = 1.0, False
            if keeporiginal:
                t.original = m.surface
            if positions:
                t.pos = start_pos + i
            if chars:
                t.startchar, t.endchar = start_char + m.start, start_char + m.end
            yield t


def is_stop(tag: str, base_form: str, stop_pos: frozenset[str] = STOP_POS,
            stop_words: frozenset[str] = STOP_WORDS) -> bool:
    """Whether a morpheme is left out of the index (particle, auxiliary, punctuation, common word).

    >>> is_stop("助詞", "を"), is_stop("名詞", "内製")
    (True, False)
    """
    return tag in stop_pos or base_form in stop_words or not base_form.strip()


class PosStopFilter(Filter):
    """Drop particles, auxiliaries, punctuation, fillers and a few very common base forms.

    Positions are renumbered over the kept tokens, so a phrase query made of the same analyzer's
    output matches regardless of the particles between its words.
    """

    def __init__(self, stop_pos: frozenset[str] = STOP_POS, stop_words: frozenset[str] = STOP_WORDS):
        self.stop_pos = stop_pos
        self.stop_words = stop_words

    def __call__(self, tokens):
        kept = 0
        for t in tokens:
            stop = is_stop(t.tag, t.text, self.stop_pos, self.stop_words)
            if stop:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            if t.positions:
                t.pos = kept
            kept += 1
            yield t


def fold_long_vowel(word: str) -> str:
    """Drop the trailing long-vowel mark of a katakana word of four or more characters.

    >>> fold_long_vowel("サーバー"), fold_long_vowel("キー")
    ('サーバ', 'キー')
    """
    if len(word) >= 4 and word.endswith("ー") and _KATAKANA_WORD.match(word):
        return word[:-1]
    return word


class ProlongedSoundFilter(Filter):
    """Fold a trailing long-vowel mark of katakana words of four or more characters (サーバー → サーバ).

    >>> [t.text for t in ProlongedSoundFilter()([Token(text="サーバー")])]
    ['サーバ']
    """

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold_long_vowel(t.text)
            yield t


#: The runs of characters the bigram field cuts its bigrams from (kana, kanji, latin letters and digits of
#: the folded, lower-cased text; `indexer.index.counting` cuts the same ones with NumPy).
CONTENT_RUN = re.compile(r"[0-9a-z\u3041-\u3096\u30a1-\u30fa\u30fc\u3400-\u9fff\uf900-\ufaff々〆ヵヶ]+")


def content_runs(text: str) -> list[str]:
    """The runs of `text` the bigram field cuts its bigrams from."""
    return CONTENT_RUN.findall(fold_text(text or "").lower())


def _bigram_strings(text: str) -> Iterator[str]:
    for run in content_runs(text):
        yield from map(operator.add, run[:-1], run[1:])


class BigramTokenizer(Tokenizer):
    """Character bigrams of the folded text, over runs of kana, kanji, latin letters and digits
    (broken at spaces and punctuation). A side field: it rewards the query's words in the query's
    order, and finds compounds and spellings the morphological analyzer splits differently.

    >>> [t.text for t in BigramTokenizer()("内製化を進めた。DX")]
    ['内製', '製化', '化を', 'を進', '進め', 'めた', 'dx']
    """

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs) -> Iterator[Token]:  # type: ignore[override]
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for gram in _bigram_strings(value):
            t.text = gram
            t.boost, t.stopped = 1.0, False
            if positions:
                t.pos = pos
                pos += 1
            yield t


def bigram_analyzer():
    """The analyzer of the `bigram` side field."""
    return BigramTokenizer()


def bigrams(text: str) -> list[str]:
    """Distinct bigrams of `text` (query side).

    >>> bigrams("自治体クラウド")
    ['自治', '治体', '体ク', 'クラ', 'ラウ', 'ウド']
    """
    return list(dict.fromkeys(t.text for t in BigramTokenizer()(text)))


#: Most readings a kana word is found as, in one passage (ないせいか → ナイセイ + カ; `indexer.index.engine`).
COMPOUND_MAX = 4


class ReadingFilter(Filter):
    """Replace each content word by its reading in katakana (菅原 → スガワラ); words without one are dropped."""

    def __call__(self, tokens):
        for t in tokens:
            if t.reading:
                t.text = t.reading
                yield t


def reading_analyzer():
    """The analyzer of the `reading` field: readings of the content words, so kana finds kanji (a compound's
    reading is not indexed whole: its words' readings are, and the engine finds it as them)."""
    return JapaneseTokenizer() | PosStopFilter() | ReadingFilter()


def to_katakana(text: str) -> str | None:
    """The katakana form of an all-kana word, else None.

    >>> to_katakana("すがわら"), to_katakana("菅原")
    ('スガワラ', None)
    """
    folded = fold(text).text.strip()
    if not folded or not _KANA_WORD.match(folded):
        return None
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in folded)


def name_readings(name: str, reading: str = "") -> str:
    """Katakana readings of a speaker's name, its parts and the whole, space-separated.

    >>> name_readings("北条真琴")
    'ホウジョウ マコト ホウジョウマコト'
    >>> name_readings("加藤勘十", "かとうかんじゅう")
    'カトウカンジュウ'
    """
    if not name:
        return ""
    if reading:
        return to_katakana(reading) or ""
    parts = [m.reading for m in morphemes(name) if m.reading]
    whole = "".join(parts)
    return " ".join(dict.fromkeys([*parts, whole])) if len(parts) > 1 else whole


def japanese_analyzer():
    """The analyzer of the `text` and `title` fields."""
    return JapaneseTokenizer() | PosStopFilter() | LowercaseFilter() | ProlongedSoundFilter()


def analyze(text: str) -> list[str]:
    """Index terms of `text`, as the index stores them.

    >>> analyze("ＤＸとサーバー")
    ['dx', 'サーバ']
    """
    return [t.text for t in japanese_analyzer()(text)]
