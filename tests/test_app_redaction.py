"""管理 › 発言の取り消し through AppTest: the secretariat withdraws a part of a turn, members and the public see
「（発言取り消し）」 (document page, hits), the secretariat sees the text struck through with its reason, and the
restoration asks for a confirmation. Every write is audited once with the logged-in name."""

from __future__ import annotations

import pytest

st = pytest.importorskip("streamlit")
import test_app_pages  # noqa: E402
from test_app import all_text, goto, html_values, logout  # noqa: E402
from test_app_pages import app, audit_entries  # noqa: E402

from indexer.archive import check, kept  # noqa: E402
from indexer.ingest.withdrawals import PLACEHOLDER  # noqa: E402

TURN = "t1#0003"  # 佐伯: 三割ほど下がりました。サーバ代が大きいです。（a public answer）
PART = "三割ほど下がりました。"
env = test_app_pages.env  # the fixture: the tiny corpus indexed, the accounts made


def withdraw(at, text: str, reason: str):
    goto(at, "admin")
    at.selectbox(key="adm_wd_doc").set_value("t1").run()
    at.selectbox(key="adm_wd_turn:t1").set_value(3).run()
    at.text_input(key="adm_wd_text").input(text)
    at.text_input(key="adm_wd_reason").input(reason)
    at.button(key="adm_wd_go").click().run()
    assert not at.exception, at.exception
    return at


def test_withdraw_show_and_restore(env):
    sources = {s.dir.name: s.read() for s in kept.stored_sources(env.root)[0]}
    at = withdraw(app("secretariat"), PART, "発言者の申し出")
    assert at.success and TURN in at.success[0].value.replace("\\", "")
    table = next(h for h in html_values(at) if "kb-withdrawals" in h)
    assert f"<td>{TURN}</td><td>0:11</td><td><del>{PART}</del></td><td>発言者の申し出</td>" in table
    [entry] = audit_entries(env, "redact")
    assert entry["actor"] == "jimukyoku" and entry["detail"] == f"turn={TURN} span=0:11 reason=発言者の申し出"
    # the secretariat's document page: the placeholder in the text, the original struck through with the reason
    goto(at, "document", {"doc": "t1"})
    body = "\n".join(html_values(at))
    assert PLACEHOLDER in body and f"<del>{PART}</del>" in body and "理由: 発言者の申し出" in body
    # a member and the public: the placeholder only, on the document page and in the hits
    for role in ("member", "public"):
        viewer = app(role)
        goto(viewer, "document", {"doc": "t1"})
        text = all_text(viewer)
        assert PLACEHOLDER in text and "三割" not in text and "発言者の申し出" not in text and "<del>" not in text
        goto(viewer, "search", {"q": "サーバ代"})
        text = all_text(viewer)
        assert PLACEHOLDER in text and "三割" not in text and 'class="kb-withdrawn"' not in text
        goto(viewer, "search", {"q": "三割"})
        assert "三割ほど" not in all_text(viewer)
    # the hit card of the secretariat names the withdrawal
    goto(at, "search", {"q": "サーバ代"})
    assert f"<del>{PART}</del>" in "\n".join(html_values(at))
    # restoring asks first
    goto(at, "admin")
    assert at.button(key="adm_wd_restore").disabled
    at.checkbox(key="adm_wd_sure").check().run()
    at.button(key="adm_wd_restore").click().run()
    assert at.success and "元に戻しました" in at.success[0].value
    assert [e["actor"] for e in audit_entries(env, "unredact")] == ["jimukyoku"]
    logout(at)
    goto(at, "document", {"doc": "t1"})
    assert PART in all_text(at) and PLACEHOLDER not in all_text(at)
    assert {s.dir.name: s.read() for s in kept.stored_sources(env.root)[0]} == sources and check.check(env) == []


def test_bad_withdrawal_is_reported_and_nothing_changes(env):
    at = withdraw(app("secretariat"), "本文にない言葉", "理由")
    assert at.error and "にありません" in at.error[0].value and not audit_entries(env, "redact")
    at = withdraw(at, PART, "")
    assert at.error and "理由を入力してください" in at.error[0].value and not audit_entries(env, "redact")
    assert not (env.root / "redactions.json").exists()
