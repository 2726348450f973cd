"""The `kb` command line: JSON output, Japanese errors without tracebacks, exit codes, the data directory
(`--data`/`--index` before or after the subcommand, `KB_DATA`), an empty archive."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.cli.commands import main
from indexer.index.store import Index

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


# -- the data directory: --data / --index anywhere, one folder per archive ------------------------------
def kb_argv(argv, capsys, stdin=None, monkeypatch=None):
    """`kb ARGV` exactly as typed (no option added); `stdin` feeds `--password-stdin`."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def search_says(result, n: int) -> bool:
    """`kb search` (text output) succeeded, silently, and its first line gives `n` 件."""
    code, out, err = result
    return code == 0 and err == "" and out.splitlines()[0].startswith(f"{n} 件")


@pytest.fixture
def clean_env(monkeypatch):
    """No data directory from the environment: only the options decide."""
    monkeypatch.delenv("KB_DATA", raising=False)
    monkeypatch.delenv("KB_INDEX", raising=False)
    monkeypatch.setenv("KB_USER", "jimukyoku")


def _note(tmp_path, doc_id: str, text: str):
    f = tmp_path / "in" / f"{doc_id}.md"
    f.parent.mkdir(exist_ok=True)
    f.write_text(f"---\nid: {doc_id}\n---\n{text}\n", encoding="utf-8")
    return f


@pytest.mark.parametrize("opt, where", [("--data", "d"), ("--index", "d/index")])
def test_global_options_after_the_subcommand(tmp_path, capsys, monkeypatch, clean_env, opt, where):
    data = tmp_path / "d"
    monkeypatch.chdir(tmp_path / "..")  # no `.kb` of the current directory is ever used
    corpus = write_corpus(tmp_path / "corpus")
    g = [opt, tmp_path / where]
    assert kb_argv(["index", corpus, *g], capsys)[0] == 0
    code, out, err = kb_argv(["search", "防災", *g], capsys)
    assert search_says((code, out, err), 1), err
    code, out, _ = kb_argv(["search", "防災", "--json", *g, "--role", "member"], capsys)  # between options too
    assert json.loads(out)["total"] == 1
    assert kb_argv(["add", _note(tmp_path, "n1", "LGWAN の話。"), *g], capsys)[:2] == (0, f"追加: {tmp_path}/in/n1.md（n1）\n")
    assert kb_argv([*g, "add", _note(tmp_path, "n2", "LGWAN の続き。")], capsys)[0] == 0  # before, as always
    st = json.loads(kb_argv(["stats", "--json", *g], capsys)[1])
    assert st["documents"] == 5 and st["index"] == str(data / "index")
    code, out, err = kb_argv(["user", "add", "sato", "--role", "member", "--password-stdin", *g], capsys,
                             stdin="long enough password\n", monkeypatch=monkeypatch)
    assert code == 0 and "追加しました" in out, err
    assert [u["name"] for u in json.loads(kb_argv(["user", "list", "--json", *g], capsys)[1])] == ["sato"]
    assert kb_argv(["check", *g], capsys)[0] == 0  # a plugin's subcommand too
    assert sorted(p.name for p in data.iterdir() if not p.name.startswith(".")) == [
        "audit.log", "followups.json", "index", "sessions.yaml", "sources", "users.json", "write.lock"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "d", "in"]  # nothing beside it


def test_user_add_with_index_after_it_in_a_process(tmp_path, clean_env):
    """The command of the issue: `kb user add NAME --role member --password-stdin --index DIR`."""
    r = subprocess.run([sys.executable, "-c", "from indexer.cli.commands import main; main()", "user", "add",
                        "sato", "--role", "member", "--password-stdin", "--index", str(tmp_path / "x" / "index")],
                       input="long enough password\n", capture_output=True, text=True)
    assert r.returncode == 0 and "追加しました" in r.stdout, r.stderr
    assert (tmp_path / "x" / "users.json").is_file() and not (tmp_path / "users.json").exists()


@pytest.mark.parametrize("form", ["data", "index/index", "index"])
def test_two_data_directories_in_one_folder_are_independent(tmp_path, capsys, monkeypatch, clean_env, form):
    """`--data p/a` / `--data p/b`, the older `--index p/a/index` / `--index p/b/index`, and `--index p/a`."""
    p = tmp_path / "p"
    opt = {"data": lambda n: ["--data", p / n], "index/index": lambda n: ["--index", p / n / "index"],
           "index": lambda n: ["--index", p / n]}[form]
    corpus = write_corpus(tmp_path / "corpus")
    jl = tmp_path / "c.jsonl"
    jl.write_text(json.dumps({"id": "x-1", "title": "会議", "text": "ヨシキリの予算を伺います。", "speaker": "一番（山田君）",
                              "date": "2020-02-26", "meeting": "定例会"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert kb_argv([*opt("a"), "index", corpus], capsys)[0] == 0
    code, out, err = kb_argv([*opt("b"), "import", jl], capsys)  # the second archive's first write: not refused
    assert code == 0 and "取り込みました" in out, err
    assert kb_argv([*opt("a"), "user", "add", "sato", "--role", "member", "--password-stdin"], capsys,
                   stdin="long enough password\n", monkeypatch=monkeypatch)[0] == 0

    def total(n, q):
        return json.loads(kb_argv([*opt(n), "search", q, "--json"], capsys)[1])["total"]

    assert (total("a", "防災"), total("a", "ヨシキリ"), total("b", "防災"), total("b", "ヨシキリ")) == (1, 0, 0, 1)
    a, b = p / "a", p / "b"
    assert {x.name for x in (a / "sources").iterdir()} == {"r1", "t1", "m2"}
    assert [x.name.startswith("_jsonl-") for x in (b / "sources").iterdir()] == [True]
    assert {e["action"] for e in audit_entries(a)} == {"index", "user_add"}
    assert {e["action"] for e in audit_entries(b)} == {"import"}
    assert json.loads(kb_argv([*opt("b"), "user", "list", "--json"], capsys)[1]) == []
    assert (a / "users.json").is_file() and not (b / "users.json").exists()
    assert sorted(x.name for x in p.iterdir()) == ["a", "b"]  # nothing shared in the parent folder
    assert kb_argv([*opt("a"), "check"], capsys)[0] == 0 and kb_argv([*opt("b"), "check"], capsys)[0] == 0


def audit_entries(root):
    from indexer.archive import audit

    return audit.entries(root)


def test_the_environment_names_the_data_directory(tmp_path, capsys, monkeypatch, clean_env):
    """`KB_DATA` (and the older `KB_INDEX`) when no option is given; an option wins over the environment."""
    corpus = write_corpus(tmp_path / "corpus")
    monkeypatch.setenv("KB_DATA", str(tmp_path / "env"))
    assert kb_argv(["index", corpus], capsys)[0] == 0
    assert (tmp_path / "env" / "index").is_dir() and (tmp_path / "env" / "sources").is_dir()
    assert kb_argv(["search", "防災", "--data", tmp_path / "other"], capsys)[0] == 1  # not the environment's
    monkeypatch.delenv("KB_DATA")
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "env" / "index"))
    assert search_says(kb_argv(["search", "防災"], capsys), 1)


def test_serve_environment_resolves_the_same_data_directory(tmp_path, monkeypatch, clean_env):
    """`kb serve` hands its directory to the app as absolute `KB_DATA`/`KB_INDEX`; the app resolves it back,
    also for an older index folder not named `index`."""
    from indexer.archive import DataDir, add_files

    monkeypatch.chdir(tmp_path)
    old = DataDir(Path("p"), Path("p/myindex"))
    add_files(old, [_note(tmp_path, "n1", "防災の話。")])
    for data in (DataDir.resolve(data="p"), DataDir.resolve(index="p/myindex")):
        env = data.environ()
        assert Path(env["KB_DATA"]).is_absolute() and Path(env["KB_INDEX"]).is_absolute()
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        assert DataDir.resolve() == data.resolved()
    assert DataDir.resolve(index="p/myindex") == old  # it holds an index: its parent is the data directory


def test_help_explains_data_and_the_older_index(capsys):
    code, out, _ = kb_argv(["--help"], capsys)
    assert code == 0 and "--data DIR" in out and "KB_DATA" in out and "従来の指定" in out
    code, out, _ = kb_argv(["search", "--help"], capsys)
    assert code == 0 and "--data DIR" in out and "サブコマンドの前でも後でも" in out


# -- an empty archive ------------------------------------------------------------------------------------
def test_an_archive_whose_documents_were_all_removed(tmp_path, capsys, clean_env):
    g = ["--data", tmp_path / "d"]
    assert kb_argv([*g, "add", _note(tmp_path, "n1", "防災の話。")], capsys)[0] == 0
    assert kb_argv([*g, "remove", "n1"], capsys)[0] == 0
    assert search_says(kb_argv([*g, "search", "防災"], capsys), 0)
    st = json.loads(kb_argv([*g, "stats", "--json"], capsys)[1])
    assert {k: st[k] for k in ("documents", "turns", "passages", "speakers", "sessions")} == {
        "documents": 0, "turns": 0, "passages": 0, "speakers": 0, "sessions": []}
    assert kb_argv([*g, "check"], capsys)[0] == 0


def test_an_index_without_segments_opens_and_check_names_the_differences(tmp_path, capsys, clean_env):
    """The state a crash before the first commit leaves: sources kept, the index created but empty."""
    from indexer.archive import DataDir, transaction

    data = DataDir.at(tmp_path / "d")
    with pytest.raises(RuntimeError), transaction(data, mode="create"):
        raise RuntimeError("interrupted before the first commit")
    assert (data.index / "_MAIN_0.toc").is_file() and not (data.root / "sources").exists()
    g = ["--data", data.root]
    assert search_says(kb_argv([*g, "search", "防災"], capsys), 0)
    assert kb_argv([*g, "stats"], capsys)[1].splitlines()[1:3] == ["文書: 0 件 {}", "発言: 0 件（パッセージ 0）"]
    assert kb_argv([*g, "check"], capsys)[0] == 0  # nothing kept, nothing indexed: they agree
    # sources kept, the index empty (as after a crash of a first `kb add`): check names every document
    assert kb_argv([*g, "add", _note(tmp_path, "n1", "防災の話。"), _note(tmp_path, "n2", "予算の話。")], capsys)[0] == 0
    shutil.rmtree(data.index)
    Index(data.index, create=True)  # an empty index, written around the archive
    assert search_says(kb_argv([*g, "search", "防災"], capsys), 0)
    code, out, _ = kb_argv([*g, "check"], capsys)
    assert code == 1 and "索引にない文書があります: n1（原本はあります）" in out and "n2" in out and "kb rebuild" in out
    assert kb_argv([*g, "rebuild"], capsys)[0] == 0 and kb_argv([*g, "check"], capsys)[0] == 0
    assert search_says(kb_argv([*g, "search", "防災"], capsys), 1)
