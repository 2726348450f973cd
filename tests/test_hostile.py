"""Hostile input: queries, filters, ids and upload names an attacker (or a cat on the keyboard) might send.

Every query gives results or a clear Japanese QueryError — never another exception — within a bounded
time, and the command line never prints a traceback. Upload names are made safe by `safe_filename`.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import unicodedata

import pytest

from indexer.archive.uploads import MAX_BYTES, MAX_CHARS, safe_filename
from indexer.cli.commands import main
from indexer.errors import KbError, QueryError
from indexer.search.kb import Filters

from helpers import build_kb

LIMIT_SECONDS = 2.0
HOSTILE_QUERIES = [
    '"', '"内製化', '内製化"', '""', '"""', "“内製化", "＂内製化", '"" "" ""', "speaker:", "speaker:\"", ":", "：：",
    "unknown:value", "foo:bar:baz", "visibility:members", "role:secretariat カワセミ", "id:*", "doc_id:m2",
    "内製化" * 3334, "あ" * 10_000, "a" * 10_000, "speaker:" + "北" * 5000, '"' * 10_000, " " * 10_000,
    "内\x00製化", "\x00", "\x00" * 100, "内製化\x00speaker:北条",
    "🔥内製化🔥", "👨‍👩‍👧‍👦", "😀" * 2000, "\U0010ffff", "\ud800", "\ufeff内製化", "\u202e化製内",
    "\x01\x02\x1b[31m内製化\x1b[0m", "\r\n\t内製化\v\f", "\u200b\u200c\u200d", "\x7f\x85",
    "session:" + "9" * 31, "session:10000000000000000000000000000000", "session:-1", "session:1e30", "session:第x回",
    "session:1,2,3," + ",".join(["4"] * 500), "from:2025-13-45", "from:99999-01-01", "to:'; DROP TABLE users; --",
    "type:memo", "part:秘密", "speaker_role:座長 内製化",
    "' OR '1'='1", "'; DROP TABLE segments; --", "1; SELECT * FROM users", "UNION SELECT password FROM users",
    ".*", "(a+)+$", "[", "\\", "\\\\", "^$", "(?i)内製化", "a|b|c", "*", "?", "内製*", "*:*", "内製化~2", "内製化^10",
    "NOT 内製化", "内製化 AND OR NOT", "(内製化", "内製化)", "{}", "[0 TO 9]", "<script>alert(1)</script>",
    "%00", "%s%s%s%n", "{0}{1}", "${jndi:ldap://x}", "../../etc/passwd", "C:\\Windows\\system32",
    "ﾅｲｾｲｶ", "ＤＸ" * 500, "ｰｰｰｰ", "〜〜〜", "ー", "・", "。", "、、、",
]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    return build_kb(tmp_path_factory.mktemp("hostile"))


def _timed(fn):
    t0 = time.perf_counter()
    try:
        return fn(), None, time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001 - the test inspects it
        return None, e, time.perf_counter() - t0


def _ok_error(e: Exception | None) -> bool:
    """None, or a KbError carrying a Japanese message."""
    if e is None:
        return True
    text = str(e)
    return isinstance(e, KbError) and any(unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA"))
                                          for c in text)


@pytest.mark.parametrize("role", ["public", "member"])
@pytest.mark.parametrize("q", HOSTILE_QUERIES, ids=lambda q: repr(q[:20]))
def test_hostile_query_library(kb, q, role):
    res, err, secs = _timed(lambda: kb.search(q, role=role))
    assert _ok_error(err), repr(err)
    assert err is None or isinstance(err, QueryError)
    assert secs < LIMIT_SECONDS
    if res is not None:
        assert res.total >= 0 and len(res.hits) <= res.page_size
        for h in res.hits:
            assert "<script>" not in h.snippet  # the snippet is escaped HTML
            if role == "public":
                assert h.visibility == "public"
        json.dumps(res.to_dict(), ensure_ascii=False)  # serialisable, surrogates included
        if role == "public":
            assert "カワセミ" not in json.dumps(res.to_dict()["hits"], ensure_ascii=False)


@pytest.mark.parametrize("filters", [
    Filters(sessions=[10**30]), Filters(sessions=[-1, 0, 10**30]), Filters(sessions=list(range(2000))),
    Filters(date_from="9999-99-99"), Filters(date_from="2025-1-1"), Filters(date_to="'; DROP TABLE x; --"),
    Filters(doc_type="memo"), Filters(part="../../etc"), Filters(speaker=".*"), Filters(speaker="\x00"),
    Filters(speaker="北" * 10_000), Filters(speaker_role="\x00座長"), Filters(speaker="(a+)+$"),
], ids=repr)
def test_hostile_filters(kb, filters):
    res, err, secs = _timed(lambda: kb.search("内製化", filters, role="public"))
    assert err is None or isinstance(err, QueryError), repr(err)
    assert _ok_error(err) and secs < LIMIT_SECONDS


@pytest.mark.parametrize("page, size", [(10**30, 10), (1, 10**30), (-5, -5), (0, 0), (10**6, 100)])
def test_hostile_paging(kb, page, size):
    res, err, secs = _timed(lambda: kb.search("内製化", role="public", page=page, page_size=size))
    assert err is None or isinstance(err, QueryError), repr(err)
    assert _ok_error(err) and secs < LIMIT_SECONDS
    if res is not None:
        assert len(res.hits) <= 100


@pytest.mark.parametrize("doc_id", ["", "\x00", "m2\x00", "../m2", "m2#0000.0", "m2#0000", "*", "m" * 10_000,
                                    "t1\n", "T1", "ｍ２", "m2 ", "🔥"])
def test_hostile_document_ids(kb, doc_id):
    doc, err, secs = _timed(lambda: kb.document(doc_id, "public"))
    assert err is None and doc is None and secs < LIMIT_SECONDS


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def index_dir(kb):
    return str(kb.index.path)


@pytest.mark.parametrize("q", HOSTILE_QUERIES[::3] + ["\x00", "内" * 10_000, "session:" + "9" * 31],
                         ids=lambda q: repr(q[:20]))
def test_hostile_query_cli(index_dir, q, monkeypatch):
    monkeypatch.delenv("KB_DEBUG", raising=False)
    t0 = time.perf_counter()
    code, out, err = _cli("--index", index_dir, "search", q, "--json")
    assert time.perf_counter() - t0 < LIMIT_SECONDS
    assert "Traceback" not in out + err and "予期しないエラー" not in err
    if code == 0:
        assert json.loads(out)["total"] >= 0
    else:
        assert code == 1 and err.startswith("kb: ")
    code, out, err = _cli("--index", index_dir, "search", q)  # plain text output too
    assert "Traceback" not in out + err and "予期しないエラー" not in err and code in (0, 1)


@pytest.mark.parametrize("args", [
    ["search", "内製化", "--session", str(10**30)], ["search", "内製化", "--page", str(10**30)],
    ["search", "内製化", "--limit", str(10**30)], ["search", "内製化", "--limit", "0"], ["search", "内製化", "--page", "-1"],
    ["search", "内製化", "--from", "2025-99-99"], ["search", "内製化", "--speaker", "\x01.*"],
    ["search", "内製化", "--session", "x"], ["search", "内製化", "--role", "admin"], ["show", "\x00"],
    ["show", "../../etc/passwd"], ["show", "m2", "--role", "root"], ["stats", "--role", "admin"],
], ids=lambda a: " ".join(a)[:40])
def test_hostile_cli_arguments(index_dir, args, monkeypatch):
    monkeypatch.delenv("KB_DEBUG", raising=False)
    t0 = time.perf_counter()
    code, out, err = _cli("--index", index_dir, *args)
    assert time.perf_counter() - t0 < LIMIT_SECONDS
    assert "Traceback" not in out + err and "予期しないエラー" not in err
    assert code in (0, 1, 2)
    if code:
        assert "kb: " in err


# -- upload names --------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("report.md", "report.md"),
    ("第１回　議事録.MD", "第1回_議事録.MD"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("C:\\Users\\sato\\Desktop\\第2回.vtt", "第2回.vtt"),
    ("/abs/path/x.srt", "x.srt"),
    ("a/../b.txt", "b.txt"),
    ("..", "upload"),
    (".", "upload"),
    ("", "upload"),
    ("/", "upload"),
    ("...", "upload"),
    (".bashrc", "bashrc"),
    (".htaccess.txt", "htaccess.txt"),
    ("rep\x00ort.md", "report.md"),
    ("rep\nort\r.md", "report.md"),
    ("x\u202egpj.exe", "xgpj.exe"),
    ("zero\u200bwidth.txt", "zerowidth.txt"),
    ("we<i>rd?.md", "we_i_rd.md"),
    ('a:b*c|d"e.pdf', "a_b_c_d_e.pdf"),
    ("  spaced  name .srt ", "spaced_name.srt"),
    ("x.md.", "x.md"),
    ("a..b.txt", "a.b.txt"),
    ("CON.txt", "_CON.txt"),
    ("nul", "_nul"),
    ("file.tar.gz", "file.tar.gz"),
    ("noext", "noext"),
    ("ﾚﾎﾟｰﾄ.ｔｘｔ", "レポート.txt"),
    ("📄memo.txt", "📄memo.txt"),
    (".md", "md"),
])
def test_safe_filename_table(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["a" * 300 + ".vtt", "あ" * 300 + ".md", "😀" * 300 + ".docx", "x" * 5000,
                                  "a/" * 1000 + "b.txt", "." * 500 + "md", "\x00" * 300])
def test_safe_filename_limits(name):
    out = safe_filename(name)
    assert out and len(out) <= MAX_CHARS and len(out.encode("utf-8")) <= MAX_BYTES
    assert "/" not in out and "\\" not in out and not out.startswith(".") and ".." not in out
    if "." in name[-6:] and name[-3:].isalpha():
        assert out.endswith(name[name.rindex("."):])


def test_safe_filename_properties():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.text(max_size=400))
    def check(name):
        out = safe_filename(name)
        assert out and out == safe_filename(out)  # idempotent
        assert len(out) <= MAX_CHARS and len(out.encode("utf-8")) <= MAX_BYTES
        assert "/" not in out and "\\" not in out and out not in (".", "..") and not out.startswith(".")
        assert not any(unicodedata.category(c)[0] == "C" for c in out)
        assert out == unicodedata.normalize("NFKC", out) or True  # NFKC applied to the input

    check()


def test_cli_undecodable_argument_bytes(index_dir):
    """Bytes that are not UTF-8 reach Python as lone surrogates: a clean answer, no traceback."""
    import subprocess
    import sys

    for extra in ([], [b"--json"]):
        r = subprocess.run([sys.executable.encode(), b"-c", b"from indexer.cli.commands import main; main()", b"--index",
                            index_dir.encode(), b"search", b"\xff\xfe\x81", *extra], capture_output=True, timeout=60)
        assert r.returncode in (0, 1) and b"Traceback" not in r.stderr + r.stdout
