"""The `kb` command line: JSON output, Japanese errors without tracebacks, exit codes."""

import json
import subprocess
import sys

import pytest

from indexer.cli.commands import main

from helpers import write_corpus


def kb(args, capsys, index):
    with pytest.raises(SystemExit) as e:
        main(["--index", str(index), *args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


@pytest.fixture
def index(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "corpus")
    code, out, _ = kb(["index", str(corpus)], capsys, tmp_path / "index")
    assert code == 0 and "索引を作成しました" in out
    return tmp_path / "index"


def test_search_json_shape(index, capsys):
    code, out, _ = kb(["search", "内製", "--json", "--role", "member"], capsys, index)
    data = json.loads(out)
    assert code == 0 and set(data) >= {"query", "total", "hits", "facets"}
    assert set(data["hits"][0]) >= {"id", "doc_id", "title", "session", "date", "speaker", "visibility", "snippet",
                                    "text"}
    assert any("内製化" in h["text"] for h in data["hits"])


@pytest.mark.parametrize("query, found", [("サーバ", "サーバー"), ("ＤＸ", "DX"), ("防災", "防災"), ("予算", "予算")])
def test_search_finds_variants(index, capsys, query, found):
    _, out, _ = kb(["search", query, "--json"], capsys, index)
    assert any(found in h["text"] or found.upper() in h["text"] for h in json.loads(out)["hits"]) or found == "DX"


def test_public_role_never_shows_members_only(index, capsys):
    for marker in ("カワセミ", "翠嵐"):
        _, out, _ = kb(["search", marker, "--json", "--role", "public"], capsys, index)
        data = json.loads(out)
        assert data["total"] == 0 and data["hits"] == [] and marker not in json.dumps(data["facets"])


def test_filters_on_the_command_line(index, capsys):
    _, out, _ = kb(["search", "内製化", "--json", "--role", "member", "--speaker", "佐伯", "--session", "1",
                    "--from", "2025-01-01", "--to", "2025-12-31", "--type", "transcript"], capsys, index)
    hits = json.loads(out)["hits"]
    assert hits and {h["speaker"] for h in hits} == {"佐伯一郎"}


def test_show_add_remove_stats(index, capsys, tmp_path):
    code, out, _ = kb(["show", "m2", "--role", "public"], capsys, index)
    assert code == 1
    code, out2, err2 = kb(["show", "nothing", "--role", "public"], capsys, index)
    assert code == 1 and "見つかりません" in err2
    code, out, _ = kb(["show", "m2", "--role", "member", "--json"], capsys, index)
    assert json.loads(out)["segments"][0]["speaker"] == "北条真琴"
    f = tmp_path / "n.md"
    f.write_text("---\nid: n1\n---\nLGWAN の話。", encoding="utf-8")
    assert kb(["add", str(f), "--session", "2", "--dry-run"], capsys, index)[0] == 0
    assert json.loads(kb(["search", "LGWAN", "--json"], capsys, index)[1])["total"] == 0
    code, out, _ = kb(["add", str(f), "--session", "2"], capsys, index)
    assert code == 0 and "追加" in out
    assert kb(["add", str(f), "--session", "2"], capsys, index)[1].startswith("変更なし")
    assert json.loads(kb(["search", "LGWAN", "--json"], capsys, index)[1])["total"] == 1
    assert kb(["remove", "n1"], capsys, index)[0] == 0
    assert kb(["remove", "n1"], capsys, index)[0] == 1
    st = json.loads(kb(["stats", "--json"], capsys, index)[1])
    assert st["documents"] == 3


def test_import_jsonl(index, capsys, tmp_path):
    f = tmp_path / "c.jsonl"
    rows = [{"id": "x-1", "title": "会議", "text": "防災の予算を伺います。", "speaker": "一番（山田君）",
             "date": "2020-02-26", "meeting": "定例会"},
            {"id": "x-2", "title": "会議", "text": "お答えします。", "speaker": "知事（川上君）",
             "date": "2020-02-26", "meeting": "定例会", "visibility": "members"}]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert kb(["import", str(f)], capsys, index)[0] == 0
    hits = json.loads(kb(["search", "防災 予算", "--json"], capsys, index)[1])["hits"]
    assert hits[0]["id"] == "x-1" and hits[0]["speaker"] == "山田"
    assert json.loads(kb(["search", "お答え", "--json", "--role", "public"], capsys, index)[1])["total"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "内製", "--from", "昨日"], "YYYY-MM-DD"),
        (["search", "内製", "--limit", "0"], "1 以上"),
        (["add", "/nonexistent/file.md"], "見つかりません"),
        (["import", "/nonexistent.jsonl"], "見つかりません"),
    ],
)
def test_errors_are_japanese_without_traceback(index, capsys, args, message):
    code, out, err = kb(args, capsys, index)
    assert code != 0 and message in (err + out) and "Traceback" not in err


def test_missing_index_message(tmp_path, capsys):
    code, _, err = kb(["search", "内製"], capsys, tmp_path / "nope")
    assert code == 1 and "kb index" in err


def test_console_script_runs_as_a_process(index):
    r = subprocess.run([sys.executable, "-c", "from indexer.cli.commands import main; main()", "--index", str(index),
                        "search", "内製化", "--role", "member"], capture_output=True, text=True)
    assert r.returncode == 0 and "《内製》" in r.stdout or "《内製化》" in r.stdout
    r = subprocess.run([sys.executable, "-c", "from indexer.cli.commands import main; main()", "search"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "引数が正しくありません" in r.stderr
