"""Lexical baselines the product is measured against (`scripts/quality.py`, `kb bench`).

- `Fts5Trigram`: SQLite FTS5, `tokenize='trigram'`, the question's trigrams ORed, ranked by bm25()
  (questions shorter than 3 characters: LIKE, unranked).
- `Bm25Fugashi`: Okapi BM25 (k1=1.2, b=0.75, Lucene idf) over fugashi (unidic-lite) surface tokens.

Both take the corpus as dicts `{"id", "title", "text"}` and are called with a query → ranked ids (top `K`).
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter

K = 10


# -- baseline (a): SQLite FTS5 trigram --------------------------------------------------------------
class Fts5Trigram:
    def __init__(self, corpus, path: str = ":memory:"):
        """Index `corpus` (an iterable of dicts) in a new FTS5 table; `path` is the database (default in memory)."""
        if sqlite3.sqlite_version_info < (3, 34, 0):
            raise SystemExit(f"SQLite {sqlite3.sqlite_version} has no trigram tokenizer (needs >= 3.34)")
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, text, tokenize='trigram')")
        self.db.executemany("INSERT INTO docs (id, title, text) VALUES (?, ?, ?)",
                            ((str(d["id"]), str(d.get("title") or ""), str(d.get("text") or "")) for d in corpus))
        self.db.commit()

    @staticmethod
    def match_expr(query: str) -> str:
        """`"abc" OR "bcd" OR …` over the distinct trigrams of the question (whitespace removed)."""
        chars = "".join(query.split())
        grams = dict.fromkeys(chars[i:i + 3] for i in range(len(chars) - 2))
        return " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)

    def __call__(self, query: str) -> list[str]:
        chars = "".join(query.split())
        if not chars:
            return []
        if len(chars) < 3:
            like = "%" + chars.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self.db.execute("SELECT id FROM docs WHERE title LIKE ? ESCAPE '\\' OR text LIKE ? ESCAPE '\\' "
                                   "LIMIT ?", (like, like, K))
        else:
            rows = self.db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
                                   (self.match_expr(chars), K))
        return [r[0] for r in rows]


# -- baseline (b): BM25 over fugashi surface tokens ---------------------------------------------------
class Bm25Fugashi:
    def __init__(self, corpus: list[dict], k1: float = 1.2, b: float = 0.75):
        import fugashi

        self.tagger = fugashi.Tagger()
        self.k1, self.b = k1, b
        self.ids: list[str] = []
        self.lengths: list[int] = []
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for n, d in enumerate(corpus):
            tf = Counter(self.tokens(f"{d.get('title') or ''}\n{d.get('text') or ''}"))
            self.ids.append(str(d["id"]))
            self.lengths.append(sum(tf.values()))
            for term, count in tf.items():
                self.postings.setdefault(term, []).append((n, count))
        self.avgdl = sum(self.lengths) / max(1, len(self.lengths))
        total = len(self.ids)
        self.idf = {t: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def tokens(self, text: str) -> list[str]:
        return [w.surface for w in self.tagger(text) if w.surface.strip()]

    def __call__(self, query: str) -> list[str]:
        scores: dict[int, float] = {}
        k1, b, avgdl, lengths = self.k1, self.b, self.avgdl, self.lengths
        for term in self.tokens(query):
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf[term]
            for n, tf in postings:
                scores[n] = scores.get(n, 0.0) + idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[n] / avgdl))
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:K]
        return [self.ids[n] for n, _ in best]
