"""`kb bench`: one run on a tiny corpus (keys, positive numbers, both engines find the keyword queries),
the corpus replication of `--scale`, the FTS5 query plans and the Markdown report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.bench import groonga
from indexer.bench import report as bench_report
from indexer.bench import speed as bench
from indexer.cli import commands as cli

TOPICS = [
    ("予算", "来年度の予算案について財政局長に伺います。予算の執行状況と補正予算の見通しをお示しください。"),
    ("防災", "首都直下地震に備えた防災対策として、防災訓練と備蓄の充実を進めるべきです。"),
    ("教育", "教育委員会に伺います。学校教育の現場での教員の働き方改革はどうなっているのか。"),
    ("オリンピック", "東京二〇二〇大会、オリンピック・パラリンピックの経費と会場の後利用について伺います。"),
    ("福祉", "高齢者福祉と医療の連携、介護人材の確保、待機児童対策について都の見解を求めます。"),
    ("住宅", "震災に強い都営住宅への建替えと、木造住宅密集地域の不燃化について伺います。"),
]


def write_corpus(path: Path, lines: int = 50) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for n in range(lines):
            word, text = TOPICS[n % len(TOPICS)]
            meeting = f"第{n // 10 + 1}回定例会"
            rec = {"id": f"tiny-{n:03d}", "title": f"{meeting} {word}", "date": f"2020-0{n // 10 + 1}-15",
                   "meeting": meeting, "speaker": "百番（山田太郎君）" if n % 2 == 0 else "知事（小池百合子君）",
                   "text": f"{text}（発言番号 {n}）"}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def test_bench_json_on_a_tiny_corpus(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "tiny.jsonl")
    assert cli.run(["bench", "--corpus", str(corpus), "--json", "--repeat", "1"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"corpus", "docs", "chars", "scale", "kb", "fts5", "machine"} <= set(r)
    assert r["docs"] == 50 and r["scale"] == 1 and r["chars"] > 1000 and r["machine"]
    kb_keys = {"build_s", "index_mb", "query_median_ms", "query_p95_ms", "add_s", "add_visible_s", "rss_mb", "by_kind"}
    assert set(r["kb"]) == kb_keys
    peers = ["fts5", *(groonga.CONFIGS if groonga.missing() is None else [])]
    for engine in peers:
        assert set(r[engine]) == {"build_s", "index_mb", "query_median_ms", "query_p95_ms", "by_kind"}, engine
    for engine in ("kb", *peers):
        for key, value in r[engine].items():
            if key != "by_kind":
                assert isinstance(value, int | float) and value > 0, (engine, key, value)
        assert set(r[engine]["by_kind"]) == set(bench.QUERY_MIX)
        for kind in ("keyword", "two_chars"):  # every keyword of the mix is in the tiny corpus
            k = r[engine]["by_kind"][kind]
            assert k["queries_with_hits"] == k["queries"] == len(bench.QUERY_MIX[kind]), (engine, kind, k)
            assert k["hits"] > 0 and k["median_ms"] > 0 and k["p95_ms"] >= k["median_ms"]
    assert r["kb"]["add_visible_s"] < bench.VISIBLE_TIMEOUT_S


def test_bench_without_groonga_says_how_to_install_it_and_goes_on(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(groonga, "missing", lambda: f"groonga が見つかりません（インストール: {groonga.INSTALL_HINT}）")
    corpus = write_corpus(tmp_path / "tiny.jsonl", lines=12)
    assert cli.run(["bench", "--corpus", str(corpus), "--json", "--repeat", "1"]) == 0
    captured = capsys.readouterr()
    assert "apt-get install groonga-bin groonga-tokenizer-mecab" in captured.err
    r = json.loads(captured.out)
    assert "kb" in r and "fts5" in r and not set(groonga.CONFIGS) & set(r)


def test_replicate_gives_distinct_ids_and_meetings():
    recs = [{"id": f"r{i}", "meeting": "m" if i < 2 else "", "text": "x"} for i in range(3)]
    out = list(bench.replicate(recs, 3))
    assert len(out) == 9
    assert len({r["id"] for r in out}) == 9
    assert [r["id"] for r in out[:3]] == ["r0", "r1", "r2"]  # the first copy is the corpus itself
    assert out[3]["id"] == "r0-x1" and out[3]["meeting"] == "m-x1" and out[-1]["id"] == "r2-x2"
    assert out[-1]["meeting"] == "" and recs[0]["id"] == "r0"  # the input is not changed
    assert list(bench.replicate(recs, 1)) == recs


def test_scaled_corpus_imports_as_distinct_documents(tmp_path):
    from indexer.ingest.jsonl import documents_from_jsonl

    src = write_corpus(tmp_path / "tiny.jsonl", lines=20)
    counts = bench.prepare_corpus(src, tmp_path / "x3.jsonl", limit=12, scale=3)
    assert counts["docs"] == 36
    docs = documents_from_jsonl(tmp_path / "x3.jsonl")  # would raise on a duplicate id
    assert len(docs) == 6 and len({d.id for d in docs}) == 6


def test_fts5_plans():
    assert bench.fts5_plan("予算") == ("", ["予算"])
    assert bench.fts5_plan('"東京二〇二〇大会"') == ('"東京二〇二〇大会"', [])
    assert bench.fts5_plan("待機児童 対策") == ('"待機児" OR "機児童"', ["対策"])
    match, likes = bench.fts5_plan("築地市場の移転について知事の見解は")
    assert likes == [] and match.startswith('"築地市" OR "地市場"')
    assert bench.like_snippet("あいうえお予算かきくけこ", ["予算"]) == "あいうえお<mark>予算</mark>かきくけこ"


def test_transcript_is_50k_characters_with_the_marker():
    text = bench.transcript_text([{"speaker": "知事（小池百合子君）", "text": "都の予算について答弁いたします。"}])
    assert len(text) == bench.TRANSCRIPT_CHARS
    assert text.count(bench.MARKER) == 1 and text.startswith("---\nid: " + bench.TRANSCRIPT_ID)


def _result(scale: int, **kb) -> dict:
    kinds = {k: {"queries": 4, "median_ms": 1.0, "p95_ms": 2.0, "hits": 10, "queries_with_hits": 4}
             for k in bench.QUERY_MIX}
    return {"corpus": "/x/corpus.jsonl", "docs": 100, "chars": 10_000, "scale": scale, "limit_docs": None,
            "repeat": 5, "procs": 2, "machine": "test machine", "date": "2025-01-01",
            "kb": {"build_s": 10.0, "index_mb": 5.0, "query_median_ms": 2.0, "query_p95_ms": 4.0, "add_s": 0.5,
                   "add_visible_s": 0.1, "rss_mb": 300.0, "by_kind": kinds, **kb},
            "fts5": {"build_s": 3.0, "index_mb": 9.0, "query_median_ms": 1.0, "query_p95_ms": 5.0, "by_kind": kinds},
            "groonga_mecab": {"build_s": 4.0, "index_mb": 6.0, "query_median_ms": 3.0, "query_p95_ms": 4.5,
                              "by_kind": kinds}}


def test_report_marks_targets_and_keeps_other_scales(tmp_path):
    out = tmp_path / "performance.md"
    bench_report.write_report(out, _result(1))
    text = out.read_text(encoding="utf-8")
    assert "| query + snippets p95 <= every other engine's | 4.00 ms vs 4.50 ms (Groonga (TokenMecab)) | ✓ |" in text
    assert "| query + snippets median <= every other engine's | 2.00 ms vs 1.00 ms (SQLite FTS5 (trigram)) | ✗ |" in text
    assert "| full build <= 2.0 × Groonga-TokenMecab's (procs=2) | 10.00 s vs 4.00 s (2.50×) | ✗ |" in text
    assert "| index on disk <= FTS5's | 5.0 MB vs 9.0 MB | ✓ |" in text
    assert "| kb | SQLite FTS5 (trigram) | Groonga (TokenMecab) |" in text  # an engine not run has no column
    assert "not measured" in text  # the 10x targets
    with out.open("a", encoding="utf-8") as fh:  # a hand-written section survives every run
        fh.write("\n## Build time breakdown\n\nanalysis 9 s\n")
    bench_report.write_report(out, _result(10, build_s=400.0))
    text = out.read_text(encoding="utf-8")
    assert "## ×1:" in text and "## ×10:" in text and "not measured" not in text
    assert "| ×10: full build <= 100 s | 400.0 s | ✗ |" in text
    assert text.count("## Build time breakdown\n\nanalysis 9 s\n") == 1
    bench_report.write_report(out, _result(1, query_median_ms=0.5))  # replaces the ×1 section only
    text = out.read_text(encoding="utf-8")
    assert text.count("## ×1:") == 1 and "| query + snippets median <= every other engine's | 0.50 ms vs" in text
    assert "## ×10:" in text and text.count("## Build time breakdown") == 1


def test_report_without_groonga_leaves_its_target_unmeasured():
    r = _result(1)
    del r["groonga_mecab"]
    assert ("full build <= 2.0 × Groonga-TokenMecab's (procs=2)", "Groonga not installed", None) \
        in bench_report.targets(r)
    assert "Groonga" not in bench_report.format_table(r).splitlines()[1]


def test_missing_corpus_is_a_japanese_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["bench", "--corpus", str(tmp_path / "none.jsonl")])
    assert e.value.code == 1
    assert "コーパスが見つかりません" in capsys.readouterr().err
