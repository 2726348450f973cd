"""Groonga, the engine behind PGroonga and Mroonga, as a peer in `kb bench` and `scripts/quality.py`.

Setup (issue 17): one `Docs` table (`_key` = id, `title`, `text`); a `TABLE_PAT_KEY` lexicon with
`NormalizerNFKC150` and the tokenizer of the configuration (`TokenMecab` or `TokenBigram`); one index
column over title and text, `WITH_SECTION|WITH_POSITION`, created after the load (Groonga's fast static
index construction). Everything goes through one `groonga` process per database (commands on stdin, one
JSON reply per line), so a build is timed from that process's start, reading the JSONL included.

Queries, top 10 by `scorer_tf_idf(title) || scorer_tf_idf(text)`, `--cache no`: keywords are ANDed (each
a phrase of the lexicon's tokens, as Groonga reads a quoted term), a quoted phrase is a phrase; a question
(the analyser finds a particle or an auxiliary in it) becomes its content words ANDed, the first page
filled from the same words ORed when fewer than 10 turns hold them all. Content words come from Groonga's
own MeCab tokenizer (`TokenMecab("include_class", true)`): its nouns, not pronouns, suffixes or dependent
nouns (with independent verbs and adjectives too, MRR@10 on the first 1,000 JSQuAD questions fell from
0.788 to 0.763: Groonga indexes surface forms, and a question's verb is rarely in the text's form). Groonga
13 keeps the options of the first `TokenMecab` it builds, so questions are analysed by a second `groonga`
process that only ever uses these options.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path

from indexer.errors import KbError

#: How to install Groonga with its MeCab tokenizer (Debian 12 packages Groonga 13).
INSTALL_HINT = "apt-get install groonga-bin groonga-tokenizer-mecab"
#: The two configurations `kb bench` runs: result key → tokenizer of the lexicon.
CONFIGS = {"groonga_mecab": "TokenMecab", "groonga_bigram": "TokenBigram"}
LABELS = {"groonga_mecab": "Groonga (TokenMecab)", "groonga_bigram": "Groonga (TokenBigram)"}
MATCH_COLUMNS = "scorer_tf_idf(title) || scorer_tf_idf(text)"
ANALYSER = 'TokenMecab("include_class", true)'
CONTENT_CLASSES = {"名詞"}
NOT_CONTENT = {"非自立", "代名詞", "接尾"}  # subclasses left out of a question's words
TOP_K = 10


class GroongaError(KbError):
    """Groonga is missing or answered with an error."""


def missing() -> str | None:
    """Why Groonga cannot run here, with how to install it; None when `groonga` and its MeCab tokenizer work."""
    if shutil.which("groonga") is None:
        return f"groonga が見つかりません（インストール: {INSTALL_HINT}）"
    with tempfile.TemporaryDirectory(prefix="kb-groonga-") as tmp:
        try:
            with Groonga(Path(tmp) / "db", create=True) as g:
                g.call("plugin_register", name="tokenizers/mecab")
        except (GroongaError, OSError) as e:
            return f"groonga の MeCab トークナイザが使えません（{e}; インストール: {INSTALL_HINT}）"
    return None


def disk_mb(path: Path) -> float:
    """Disk use of a directory's files (allocated blocks: Groonga's files are sparse), in MB."""
    return sum(p.stat().st_blocks * 512 for p in Path(path).rglob("*") if p.is_file()) / 1e6


class Groonga:
    """One `groonga` process on a database: a command in, its JSON reply out."""

    def __init__(self, db: Path, create: bool = False):
        db.parent.mkdir(parents=True, exist_ok=True)
        args = ["groonga", "--log-path", os.devnull, *(["-n"] if create else []), str(db)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     encoding="utf-8")

    def __enter__(self) -> Groonga:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _reply(self, what: str):
        line = self.proc.stdout.readline()
        if not line:
            raise GroongaError(f"groonga が終了しました（{what}）")
        head, *body = json.loads(line)
        if head[0] != 0:
            raise GroongaError(f"groonga: {what}: {head[3] if len(head) > 3 else head}")
        return body[0] if body else None

    def call(self, command: str, /, **params: str):
        """Run one command (`/d/NAME?params`, so no quoting is needed); its reply's body."""
        self.proc.stdin.write(f"/d/{command}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}\n")
        self.proc.stdin.flush()
        return self._reply(command)

    def load(self, table: str, rows: Iterable[dict]) -> int:
        """Load `rows` into `table` as one JSON array streamed to the process; the number loaded."""
        write = self.proc.stdin.write
        write(f"load --table {table}\n[\n")
        for n, row in enumerate(rows):
            write(("," if n else "") + json.dumps(row, ensure_ascii=False) + "\n")
        write("]\n")
        self.proc.stdin.flush()
        return self._reply("load")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def build(records: Iterable[dict], directory: Path, tokenizer: str) -> Groonga:
    """A new database in `directory` holding `records` ({"id", "title", "text"}) indexed with `tokenizer`;
    returns its open process (the timed part: process start, load, index construction)."""
    g = Groonga(Path(directory) / "db", create=True)
    try:
        g.call("plugin_register", name="tokenizers/mecab")
        g.call("table_create", name="Docs", flags="TABLE_HASH_KEY", key_type="ShortText")
        g.call("column_create", table="Docs", name="title", flags="COLUMN_SCALAR", type="ShortText")
        g.call("column_create", table="Docs", name="text", flags="COLUMN_SCALAR", type="LongText")
        g.load("Docs", ({"_key": str(r["id"]), "title": str(r.get("title") or ""), "text": str(r.get("text") or "")}
                        for r in records))
        g.call("table_create", name="Terms", flags="TABLE_PAT_KEY", key_type="ShortText",
               default_tokenizer=tokenizer, normalizer="NormalizerNFKC150")
        g.call("column_create", table="Terms", name="docs_index", flags="COLUMN_INDEX|WITH_SECTION|WITH_POSITION",
               type="Docs", source="title,text")
    except BaseException:
        g.close()
        raise
    return g


def quoted(word: str) -> str:
    """A word as one quoted term of Groonga's query syntax.

    >>> quoted('a"b')
    '"a\\\\"b"'
    """
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Analyser:
    """Content words of a question by Groonga's MeCab tokenizer, in a scratch database of its own."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="kb-groonga-analyser-")
        self.g = Groonga(Path(self._tmp.name) / "db", create=True)
        self.g.call("plugin_register", name="tokenizers/mecab")

    def tokens(self, text: str) -> list[tuple[str, str, str]]:
        """(token, class, subclass) of `text`, normalized as the index normalizes it."""
        reply = self.g.call("tokenize", tokenizer=ANALYSER, string=text, normalizer="NormalizerNFKC150")
        return [(t["value"], t["metadata"].get("class", ""), t["metadata"].get("subclass0") or "") for t in reply]

    def close(self) -> None:
        self.g.close()
        self._tmp.cleanup()


def content_words(tokens: list[tuple[str, str, str]]) -> list[str]:
    """The distinct content words of analysed tokens (nouns that are not pronouns, suffixes or dependent).

    >>> content_words([("移転", "名詞", "サ変接続"), ("の", "名詞", "非自立"), ("備え", "動詞", "自立")])
    ['移転']
    """
    return list(dict.fromkeys(w for w, cls, sub in tokens if cls in CONTENT_CLASSES and sub not in NOT_CONTENT))


def is_question(tokens: list[tuple[str, str, str]]) -> bool:
    """A query reads as a question when Groonga's MeCab finds a particle or an auxiliary in it."""
    return any(cls in ("助詞", "助動詞") for _, cls, _ in tokens)


class GroongaSearch:
    """Groonga searched as the benchmarks search it: `search` (bench: ids and snippets), `__call__` (quality: ids)."""

    def __init__(self, g: Groonga, analyser: Analyser):
        self.g = g
        self.analyser = analyser

    def select(self, expr: str, columns: str, limit: int = TOP_K) -> list[list]:
        """Rows (`columns`) of the best `limit` records matching a query expression."""
        body = self.g.call("select", table="Docs", match_columns=MATCH_COLUMNS, query=expr, sort_keys="-_score,_id",
                           limit=str(limit), output_columns=columns, cache="no")
        return body[0][2:]

    def question(self, words: list[str], columns: str) -> list[list]:
        """Content words ANDed; fewer than TOP_K matches: the page filled from the words ORed."""
        if not words:
            return []
        rows = self.select(" ".join(map(quoted, words)), columns)
        if len(rows) < TOP_K and len(words) > 1:
            seen = {r[0] for r in rows}
            more = self.select(" OR ".join(map(quoted, words)), columns, TOP_K + len(rows))
            rows += [r for r in more if r[0] not in seen][: TOP_K - len(rows)]
        return rows

    def rows(self, query: str, columns: str) -> list[list]:
        q = query.strip()
        if len(q) >= 2 and q[0] == q[-1] == '"':
            return self.select(quoted(q[1:-1].strip()), columns) if q[1:-1].strip() else []
        terms = q.split()
        if len(terms) == 1:
            tokens = self.analyser.tokens(terms[0])
            if is_question(tokens):
                return self.question(content_words(tokens), columns)
        return self.select(" ".join(map(quoted, terms)), columns) if terms else []

    def search(self, query: str) -> list[tuple[str, str]]:
        """(id, highlighted snippets of the text) of the top 10 (`kb bench`)."""
        return [(key, "…".join(snips or [])) for key, snips in self.rows(query, "_key,snippet_html(text)")]

    def __call__(self, question: str) -> list[str]:
        """Ids of the top 10 for a question (`scripts/quality.py`): always its content words, AND then OR."""
        return [r[0] for r in self.question(content_words(self.analyser.tokens(question)), "_key")]

    def close(self) -> None:
        self.g.close()


def run_bench(records: Callable[[], Iterable[dict]], work: Path, run_mix: Callable[[Callable], dict],
              log: Callable[[str], None]) -> dict[str, dict]:
    """`kb bench`'s Groonga part: each configuration built from `records()` in `work` and searched with
    `run_mix`; {} when Groonga cannot run (the reason and how to install it are logged)."""
    why = missing()
    if why is not None:
        log(f"{why}。Groonga は計測しません。")
        return {}
    out: dict[str, dict] = {}
    analyser = Analyser()
    try:
        for key, tokenizer in CONFIGS.items():
            log(f"{key}: 索引を作成しています")
            t0 = time.perf_counter()
            search = GroongaSearch(build(records(), work / key, tokenizer), analyser)
            res: dict = {"build_s": round(time.perf_counter() - t0, 3)}
            try:
                res.update(run_mix(search.search))
            finally:
                search.close()
            out[key] = {"build_s": res.pop("build_s"), "index_mb": round(disk_mb(work / key), 2), **res}
            shutil.rmtree(work / key, ignore_errors=True)
    finally:
        analyser.close()
    return out
