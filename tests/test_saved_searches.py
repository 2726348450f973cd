"""Saved searches and 「前回以降 N 件」: save, list, rename, remove (library and `kb saved`), the new hits after
`kb add` (added or replaced content only, with the account's role), the last-visit rule, `kb export` /
`kb import-archive`, removing the account, and bad input (a Japanese message, nothing lost, exit 1)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from indexer.archive import accounts, news, saved, visits
from indexer.archive.actions import edit_metadata
from indexer.archive.datadir import DataDir
from indexer.cli.commands import main
from indexer.index.store import Index
from indexer.search.kb import Filters, KnowledgeBase

from helpers import build_kb

PASSWORD = "correct horse 8"

#: A transcript added later: session 2, its discussion members-only, with words the tiny corpus lacks.
NEW_TRANSCRIPT = """\
---
id: n2
session: 2
type: transcript
visibility: public
members_only_parts: [discussion]
title: 第2回 トランスクリプト
---
## 質疑応答
田村：内製化した決裁システムの保守は誰が担いますか？
北条：情報政策課の職員二名です。

## ディスカッション
田村：会員だけに言うと、ハヤブサ計画の内製化は半年遅れています。
"""


def kb(args: list[str], capsys, data: Path) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(["--data", str(data), *args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def after_this_second() -> None:
    """Wait for the next whole second (the audit log keeps whole seconds)."""
    time.sleep(1.05 - time.time() % 1)


@pytest.fixture
def data(tmp_path) -> DataDir:
    build_kb(tmp_path)
    accounts.add_user(tmp_path, "kaiin", "member", PASSWORD)
    accounts.add_user(tmp_path, "jimukyoku", "secretariat", PASSWORD)
    return DataDir.at(tmp_path)


def knowledge(data: DataDir) -> KnowledgeBase:
    return KnowledgeBase(Index(data.index), data_dir=data.root)


def new_file(tmp_path: Path, text: str = NEW_TRANSCRIPT) -> Path:
    path = tmp_path / "incoming" / "n2.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the library ----------------------------------------------------------------------------------
def test_save_list_rename_remove(data):
    a = saved.add_search(data.root, "kaiin", "内製化", {"sessions": [1]})
    b = saved.add_search(data.root, "ｋａｉｉｎ", "サーバー", name="機器の話")
    assert (a.id, a.name, a.filters) == ("1", "内製化", {"sessions": [1]})  # the name defaults to the query
    assert [s.name for s in saved.list_searches(data.root, "kaiin")] == ["内製化", "機器の話"]
    assert saved.list_searches(data.root, "jimukyoku") == []  # per account
    saved.rename_search(data.root, "kaiin", b.id, "サーバーの更新")
    saved.remove_search(data.root, "kaiin", "内製化")
    assert [(s.id, s.name) for s in saved.list_searches(data.root, "kaiin")] == [("2", "サーバーの更新")]
    c = saved.add_search(data.root, "kaiin", "防災")
    assert c.id == "3"  # ids are not reused
    mode = (data.root / saved.SAVED_FILE).stat().st_mode & 0o777
    assert mode == 0o600


@pytest.mark.parametrize(("user", "query", "kw", "message"), [
    ("nobody", "内製化", {}, "登録されていません"),
    ("kaiin", "   ", {}, "検索語が空です"),
    ("kaiin", "の", {}, "探す語がありません"),
    ("kaiin", "内製化", {"name": "内製化"}, "既にあります"),
    ("kaiin", "予算", {"filters": {"doc_type": "memo"}}, "種類は"),
    ("kaiin", "予算", {"filters": {"date_from": "2025/01/01"}}, "YYYY-MM-DD"),
])
def test_bad_input_is_refused_and_nothing_is_lost(data, user, query, kw, message):
    saved.add_search(data.root, "kaiin", "内製化")
    before = (data.root / saved.SAVED_FILE).read_bytes()
    with pytest.raises(saved.SavedSearchError, match=message):
        saved.add_search(data.root, user, query, kw.get("filters"), name=kw.get("name", ""))
    assert (data.root / saved.SAVED_FILE).read_bytes() == before


def test_doc_ids_filter_keeps_only_those_documents(data):
    k = knowledge(data)
    everywhere = k.search("内製化", role="member").total
    only_report = k.search("内製化", Filters(doc_ids=("r1",)), role="member")
    assert 0 < only_report.total < everywhere
    assert {h.doc_id for h in k.search("内製化", Filters(doc_ids=("r1",)), role="member", page_size=50).hits} == {"r1"}


# -- the last visit --------------------------------------------------------------------------------
def test_a_visit_keeps_its_baseline_until_a_pause_or_a_new_login(data):
    d = data.root
    assert visits.visit_baseline(d, "kaiin") is None
    assert visits.record_visit(d, "kaiin", now=1000) == 1000  # the first visit: nothing is new yet
    assert visits.record_visit(d, "kaiin", now=1020) == 1000  # a rerun a moment later (not even written)
    assert visits.record_visit(d, "kaiin", now=2500) == 1000  # a reload within the visit: the same baseline
    assert visits.record_visit(d, "kaiin", now=2500 + visits.VISIT_GAP + 1) == 1000  # back later: from 1000
    start2 = 2500 + visits.VISIT_GAP + 1
    assert visits.record_visit(d, "kaiin", now=start2 + 600) == 1000  # still that visit
    assert visits.record_visit(d, "kaiin", now=start2 + 700, login="b") == start2  # a new login: a new visit
    assert visits.record_visit(d, "kaiin", now=start2 + 800, login="b") == start2
    assert visits.record_visit(d, "kaiin", now=start2 + 900, login="c") == start2 + 700  # another browser logs in
    assert visits.record_visit(d, "kaiin", now=start2 + 1000, login="b") == start2 + 700  # back and forth: the
    assert visits.record_visit(d, "kaiin", now=start2 + 1100, login="c") == start2 + 700  # same visit
    assert visits.visit_baseline(d, "kaiin") == start2 + 700
    assert visits.visit_baseline(d, "jimukyoku") is None  # per account
    with pytest.raises(saved.SavedSearchError):
        visits.record_visit(d, "nobody")


# -- 新着 after kb add -------------------------------------------------------------------------------
def test_new_hits_after_kb_add_counted_with_the_accounts_role(data, tmp_path, capsys):
    saved.add_search(data.root, "kaiin", "内製化")
    saved.add_search(data.root, "kaiin", "ハヤブサ計画", name="翠嵐以外の案件")  # members-only words
    saved.add_search(data.root, "kaiin", "内製化", {"sessions": [1]}, name="第1回の内製化")
    after_this_second()
    base = visits.record_visit(data.root, "kaiin")  # the member's first visit, after the corpus was indexed
    assert [r.new for r in news.overview(data, knowledge(data), "kaiin")] == [0, 0, 0]

    code, out, err = kb(["add", str(new_file(tmp_path))], capsys, data.root)
    assert code == 0, err
    k = knowledge(data)
    rows = {r.search.name: r for r in news.overview(data, k, "kaiin")}
    everywhere = k.search("内製化", role="member").total
    in_n2 = k.search("内製化", Filters(doc_ids=("n2",)), role="member").total
    assert rows["内製化"].new == in_n2 >= 2 and rows["内製化"].total == everywhere > in_n2
    assert rows["内製化"].new_docs == ("n2",) and rows["内製化"].new_label == f"前回以降 {in_n2} 件"
    assert rows["翠嵐以外の案件"].new == 1  # a members-only turn, counted for a member ...
    assert k.search("ハヤブサ計画", role="public").total == 0  # ... that the public never sees
    assert rows["第1回の内製化"].new == 0  # its filters apply (n2 is session 2)
    shown = k.search("内製化", rows["内製化"].new_filters(), role="member", page_size=50)
    assert {h.doc_id for h in shown.hits} == {"n2"}  # clicking it shows the new hits only

    # A reload in the same visit keeps the counts; a visit after a pause still counts from the previous start.
    assert visits.record_visit(data.root, "kaiin") == base
    assert news.overview(data, k, "kaiin")[0].new == in_n2
    later = time.time() + visits.VISIT_GAP + 60
    assert visits.record_visit(data.root, "kaiin", now=later) == base
    assert news.overview(data, k, "kaiin")[0].new == in_n2
    visits.record_visit(data.root, "kaiin", now=later + visits.VISIT_GAP + 60)  # the next visit: from `later`
    assert news.overview(data, k, "kaiin")[0].new == 0

    # `kb saved list` shows the same counts (and --since counts from another time).
    code, out, _ = kb(["saved", "list", "kaiin", "--since", "2000-01-01T00:00:00+00:00", "--json"], capsys, data.root)
    listed = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and listed["内製化"]["new"] == everywhere and listed["内製化"]["total"] == everywhere


def test_only_added_or_changed_content_is_new(data, tmp_path, capsys):
    saved.add_search(data.root, "kaiin", "内製化")
    path = new_file(tmp_path)
    assert kb(["add", str(path)], capsys, data.root)[0] == 0
    after_this_second()
    since = time.time()
    k = knowledge(data)
    assert kb(["add", str(path)], capsys, data.root)[0] == 0  # the same bytes again: 変更なし
    edit_metadata(data, "n2", {"title": "第2回 トランスクリプト（改題）"})  # metadata only
    assert news.overview(data, k, "kaiin", since=since)[0].new == 0
    path.write_text(NEW_TRANSCRIPT.replace("職員二名", "職員三名"), encoding="utf-8")
    code, out, _ = kb(["add", str(path)], capsys, data.root)
    assert code == 0 and "差し替え" in out
    assert news.overview(data, knowledge(data), "kaiin", since=since)[0].new >= 2  # replaced content is new


# -- the command line -------------------------------------------------------------------------------
def test_cli_add_list_rename_remove(data, capsys):
    code, out, _ = kb(["saved", "add", "kaiin", "内製化", "--session", "1", "--type", "transcript"], capsys, data.root)
    assert code == 0 and "検索を保存しました: 1「内製化」" in out
    code, out, _ = kb(["saved", "list", "kaiin"], capsys, data.root)
    total = knowledge(data).search("内製化", Filters(sessions=(1,), doc_type="transcript"), role="member").total
    assert code == 0 and "訪問の記録がまだない" in out
    assert f"1\t内製化\t内製化（第1回・トランスクリプト）\t全 {total} 件\t前回以降 0 件" in out
    assert kb(["saved", "rename", "kaiin", "1", "内製化の費用"], capsys, data.root)[0] == 0
    code, out, _ = kb(["saved", "list", "kaiin", "--json"], capsys, data.root)
    assert [(r["id"], r["name"], r["filters"]) for r in json.loads(out)] == [
        ("1", "内製化の費用", {"sessions": [1], "doc_type": "transcript"})]
    code, out, _ = kb(["saved", "remove", "kaiin", "内製化の費用"], capsys, data.root)
    assert code == 0 and "削除しました" in out
    assert "保存した検索はありません" in kb(["saved", "list", "kaiin"], capsys, data.root)[1]


@pytest.mark.parametrize(("args", "message"), [
    (["saved", "add", "nobody", "内製化"], "ユーザー「nobody」は登録されていません"),
    (["saved", "add", "kaiin", ""], "検索語が空です"),
    (["saved", "add", "kaiin", "防災", "--name", "内製化"], "既にあります"),
    (["saved", "add", "kaiin", "防災", "--from", "昨日"], "YYYY-MM-DD"),
    (["saved", "list", "nobody"], "登録されていません"),
    (["saved", "list", "kaiin", "--since", "きのう"], "ISO 8601"),
    (["saved", "remove", "kaiin", "99"], "見つかりません"),
    (["saved", "rename", "kaiin", "1", "   "], "名前が空です"),
])
def test_cli_bad_input(data, capsys, args, message):
    assert kb(["saved", "add", "kaiin", "内製化"], capsys, data.root)[0] == 0
    before = (data.root / saved.SAVED_FILE).read_bytes()
    code, out, err = kb(args, capsys, data.root)
    assert code == 1 and message in err and "Traceback" not in err
    assert (data.root / saved.SAVED_FILE).read_bytes() == before


# -- export, import, removing the account ------------------------------------------------------------
def test_export_and_import_archive_keep_saved_searches(data, tmp_path, capsys):
    saved.add_search(data.root, "kaiin", "内製化", {"sessions": [1]})
    saved.add_search(data.root, "kaiin", "サーバー")
    out_file = tmp_path / "kb.tar.gz"
    assert kb(["export", str(out_file)], capsys, data.root)[0] == 0

    saved.remove_search(data.root, "kaiin", "サーバー")
    saved.add_search(data.root, "kaiin", "防災")
    assert kb(["import-archive", str(out_file)], capsys, data.root)[0] == 0
    assert [s.name for s in saved.list_searches(data.root, "kaiin")] == ["内製化", "防災", "サーバー"]

    fresh = DataDir.at(tmp_path / "restored")  # a new server: accounts are not exported, the searches are
    code, _, err = kb(["import-archive", str(out_file)], capsys, fresh.root)
    assert code == 0, err
    accounts.add_user(fresh.root, "kaiin", "member", PASSWORD)
    restored = saved.list_searches(fresh.root, "kaiin")
    assert [(s.name, s.filters) for s in restored] == [("内製化", {"sessions": [1]}), ("サーバー", {})]
    assert news.overview(fresh, knowledge(fresh), "kaiin")[0].total > 0


def test_removing_the_account_removes_its_saved_searches(data, capsys):
    saved.add_search(data.root, "kaiin", "内製化")
    saved.add_search(data.root, "jimukyoku", "内製化")
    visits.record_visit(data.root, "kaiin")
    code, out, err = kb(["user", "remove", "kaiin"], capsys, data.root)
    assert code == 0, err
    stored = json.loads((data.root / saved.SAVED_FILE).read_text(encoding="utf-8"))
    assert "kaiin" not in stored["users"] and "jimukyoku" in stored["users"]
    accounts.add_user(data.root, "kaiin", "member", PASSWORD)
    assert saved.list_searches(data.root, "kaiin") == [] and visits.visit_baseline(data.root, "kaiin") is None
