"""保存した検索 in the app (AppTest): 「この検索を保存」 for a logged-in member only, the start area with
「前回以降 N 件」 after a document is added through the archive, clicking it shows only the new hits,
「すべての結果を表示」 and 「削除」."""

from __future__ import annotations

import pytest

st = pytest.importorskip("streamlit")
from test_app import all_text, goto  # noqa: E402
from test_app_pages import app  # noqa: E402
from test_app_pages import env as env  # noqa: E402, F401 - the fixture, as pytest finds it here
from test_saved_searches import after_this_second, knowledge  # noqa: E402

from indexer.archive import saved  # noqa: E402
from indexer.archive.actions import add_files  # noqa: E402

NEW = """\
---
id: n3
session: 2
type: report
visibility: public
title: 第2回 追加レポート
---
# 第2回 追加レポート

内製化の進み具合を、ヤマセミ方式の導入事例とあわせて報告しました。
"""


def shown(at) -> str:
    """What the page says, success messages included."""
    return all_text(at) + "\n" + "\n".join(str(e.value) for e in at.success)


def button(at, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, [b.label for b in at.button]
    return found[0]


def search(at, q: str):
    at.text_input(key="q").set_value(q).run()
    assert not at.exception, at.exception
    return at


def test_public_visitor_has_no_save_button_nor_saved_searches(env):
    at = search(app("public"), "内製化")
    assert "この検索を保存" not in [b.label for b in at.button]
    at = search(at, "")
    assert "保存した検索" not in [s.value for s in at.subheader]


def test_member_saves_sees_new_hits_after_an_add_and_removes(env, tmp_path):
    after_this_second()  # the first visit starts after the second the corpus was indexed in
    at = search(app("member"), "内製化")
    button(at, "この検索を保存").click().run()
    assert "検索を保存しました:「内製化」" in shown(at)
    assert [s.name for s in saved.list_searches(env.root, "kaiin")] == ["内製化"]
    assert "この検索は「内製化」として保存済みです。" in shown(at)
    assert "この検索を保存" not in [b.label for b in at.button]  # not twice
    at.selectbox(key="doc_type").set_value("report").run()  # another search (a filter more) may be saved
    assert "この検索を保存" in [b.label for b in at.button]
    at.selectbox(key="doc_type").set_value("").run()

    at = search(at, "")
    assert "保存した検索" in [s.value for s in at.subheader]
    assert button(at, "前回以降 0 件").disabled

    path = tmp_path / "n3.md"
    path.write_text(NEW, encoding="utf-8")
    add_files(env, [path], actor="jimukyoku")  # the secretariat adds a report (the archive's write path)
    at = goto(at, "search")  # the member comes back to the page within the same visit
    new = button(at, "前回以降 1 件")
    assert not new.disabled
    new.click().run()
    assert at.session_state.q == "内製化"
    text = all_text(at)
    assert "前回の訪問以降に追加・差し替えられた文書の発言だけ" in text and "ヤマセミ" in text
    assert "第1回レポート" not in text  # older hits are left out ...
    button(at, "すべての結果を表示").click().run()
    assert "第1回レポート" in all_text(at)  # ... until every hit is asked for

    at = search(at, "")
    button(at, "削除").click().run()
    assert "保存した検索を削除しました:「内製化」" in shown(at)
    assert saved.list_searches(env.root, "kaiin") == []


def test_a_saved_search_with_a_speaker_role_runs_with_it(env):
    saved.add_search(env.root, "kaiin", "内製化", {"speaker_role": "ゲスト"}, name="ゲストの内製化")
    at = search(app("member"), "")
    button(at, "ゲストの内製化").click().run()
    assert at.session_state.q == "内製化 speaker_role:ゲスト"
    counted = saved.list_searches(env.root, "kaiin")[0]
    total = knowledge(env).search(counted.query, counted.to_filters(), role="member").total
    assert total and at.subheader[0].value == f"{total} 件"
