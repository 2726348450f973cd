"""Local accounts: scrypt hashes in users.json, `kb user`, throttled logins, expiring sessions, app/auth."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from indexer.archive import accounts
from indexer.archive.accounts import AccountError, LoginLocked
from indexer.archive.audit import entries
from indexer.cli.commands import main

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def _users_file(data_dir):
    return json.loads((data_dir / accounts.USERS_FILE).read_text(encoding="utf-8"))["users"]


# -- hashing and storage -------------------------------------------------------------------------
def test_hash_is_salted_scrypt(data_dir):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    accounts.add_user(data_dir, "suzuki", "member", PASSWORD)
    users = _users_file(data_dir)
    a, b = users["sato"]["hash"], users["suzuki"]["hash"]
    assert a != b and PASSWORD not in json.dumps(users)
    algo, n, r, p, salt, key = a.split("$")
    assert (algo, n, r, p) == ("scrypt", str(2**14), "8", "1")
    import base64

    salt_b = base64.b64decode(salt)
    assert len(salt_b) == 16
    assert hashlib.scrypt(PASSWORD.encode(), salt=salt_b, n=2**14, r=8, p=1, dklen=32) == base64.b64decode(key)
    assert accounts.verify_password(PASSWORD, a) and not accounts.verify_password(PASSWORD + "x", a)
    assert not accounts.verify_password(PASSWORD, "md5$abc") and not accounts.verify_password(PASSWORD, "garbage")


def test_users_file_is_private_and_atomic(data_dir, monkeypatch):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    path = data_dir / accounts.USERS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        accounts.add_user(data_dir, "suzuki", "member", PASSWORD)
    assert path.read_bytes() == before  # the old file is intact
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]  # no temporary left behind


def test_damaged_users_file_is_a_japanese_error(data_dir):
    data_dir.mkdir()
    (data_dir / accounts.USERS_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(AccountError, match="読めません"):
        accounts.add_user(data_dir, "sato", "member", PASSWORD)


@pytest.mark.parametrize("name, ok", [
    ("sato", True), ("佐藤", True), ("a", True), ("x" * 64, True), ("sato.taro@example.jp", True),
    ("", False), ("x" * 65, False), ("sa to", False), ("sa\tto", False), ("sato\n", False), ("\x00", False),
    ("sa\x1bto", False), ("佐　藤", False), ("zero\u200bwidth", False), ("rtl\u202eotas", False), (" sato", False),
])
def test_name_validation(name, ok):
    if ok:
        assert accounts.check_name(name) == name
    else:
        with pytest.raises(AccountError) as e:
            accounts.check_name(name)
        assert "ユーザー名" in str(e.value)


def test_names_are_nfkc(data_dir):
    accounts.add_user(data_dir, "ｓａｔｏ", "member", PASSWORD)
    assert [u["name"] for u in accounts.list_users(data_dir)] == ["sato"]
    assert accounts.authenticate(data_dir, "sato", PASSWORD, now=T0).name == "sato"
    with pytest.raises(AccountError, match="既に"):
        accounts.add_user(data_dir, "sato", "member", PASSWORD)


@pytest.mark.parametrize("password", ["", "short", "1234567", "x" * 1025, "abc\x00defgh"])
def test_bad_passwords(data_dir, password):
    with pytest.raises(AccountError, match="パスワード"):
        accounts.add_user(data_dir, "sato", "member", password)
    assert not (data_dir / accounts.USERS_FILE).exists()


def test_bad_role(data_dir):
    for role in ("public", "admin", ""):
        with pytest.raises(AccountError, match="役割"):
            accounts.add_user(data_dir, "sato", role, PASSWORD)


# -- authenticate and throttling -----------------------------------------------------------------
def test_authenticate(data_dir):
    accounts.add_user(data_dir, "sato", "secretariat", PASSWORD)
    assert accounts.authenticate(data_dir, "sato", PASSWORD, now=T0) == accounts.Account("sato", "secretariat")
    assert accounts.authenticate(data_dir, "sato", "wrong-password", now=T0) is None
    assert accounts.authenticate(data_dir, "nobody", PASSWORD, now=T0) is None
    for i, hostile in enumerate(("", "\x00", "x" * 10_000, "a b", None)):  # malformed names share one counter
        assert accounts.authenticate(data_dir, hostile, PASSWORD, now=T0 + 1000 * i) is None
    assert accounts.authenticate(data_dir, "sato", None, now=T0 + 10_000) is None
    actions = [e["action"] for e in entries(data_dir)]
    assert actions[0] == "login" and "login_failed" in actions
    assert PASSWORD not in (data_dir / "audit.log").read_text(encoding="utf-8")


def test_backoff_after_three_failures(data_dir):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    for i in range(3):
        assert accounts.authenticate(data_dir, "sato", "wrong-password", now=T0 + i) is None
    # 3 failures: wait 2**0 = 1 s after the last one; even the right password is not checked meanwhile
    with pytest.raises(LoginLocked) as e:
        accounts.authenticate(data_dir, "sato", PASSWORD, now=T0 + 2.5)
    assert "しばらく待ってから" in str(e.value) and e.value.retry_after == 1
    assert accounts.authenticate(data_dir, "sato", "wrong-password", now=T0 + 3.1) is None  # 4th
    assert accounts.lock_remaining(data_dir, "sato", now=T0 + 3.1) == pytest.approx(2.0)
    with pytest.raises(LoginLocked):
        accounts.authenticate(data_dir, "sato", PASSWORD, now=T0 + 4.0)
    for k in range(5, 20):  # keep failing: the wait doubles, capped at 5 minutes
        now = T0 + 10_000 * k
        assert accounts.authenticate(data_dir, "sato", "wrong-password", now=now) is None
    assert accounts.lock_remaining(data_dir, "sato", now=now) == pytest.approx(300.0)
    with pytest.raises(LoginLocked) as e:
        accounts.authenticate(data_dir, "sato", PASSWORD, now=now + 299)
    assert "1 秒" in str(e.value)
    assert accounts.authenticate(data_dir, "sato", PASSWORD, now=now + 301).name == "sato"  # success resets
    assert accounts.lock_remaining(data_dir, "sato", now=now + 301) == 0
    assert "login_locked" in [x["action"] for x in entries(data_dir)]


def test_lock_is_per_name_and_unknown_names_are_counted(data_dir):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    for i in range(3):
        assert accounts.authenticate(data_dir, "ghost", "wrong-password", now=T0 + i / 10) is None
    with pytest.raises(LoginLocked):  # an unknown name behaves like a known one (no enumeration)
        accounts.authenticate(data_dir, "ghost", "wrong-password", now=T0 + 0.5)
    assert accounts.authenticate(data_dir, "sato", PASSWORD, now=T0 + 0.5).name == "sato"


def test_global_lock_against_spraying(data_dir):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    for i in range(accounts.GLOBAL_LOCK_AFTER):
        accounts.authenticate(data_dir, f"user{i}", "wrong-password", now=T0 + i * 0.01)
    with pytest.raises(LoginLocked):
        accounts.authenticate(data_dir, "sato", PASSWORD, now=T0 + 1)
    assert accounts.authenticate(data_dir, "sato", PASSWORD, now=T0 + accounts.GLOBAL_MAX_WAIT + 5).name == "sato"


def test_failures_file_is_private_and_survives_damage(data_dir):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    accounts.authenticate(data_dir, "sato", "wrong-password", now=T0)
    path = data_dir / accounts.FAILURES_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("garbage", encoding="utf-8")
    assert accounts.authenticate(data_dir, "sato", PASSWORD, now=T0 + 1).name == "sato"


def test_password_change_clears_failures(data_dir):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    for i in range(4):
        accounts.authenticate(data_dir, "sato", "wrong-password", now=T0 + i)
    accounts.set_password(data_dir, "sato", "new password 2")
    assert accounts.authenticate(data_dir, "sato", "new password 2", now=T0 + 4).name == "sato"
    assert accounts.authenticate(data_dir, "sato", PASSWORD, now=T0 + 10) is None


# -- sessions ------------------------------------------------------------------------------------
def test_session_expires(data_dir, monkeypatch):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    s = accounts.new_session(acc, ttl_seconds=60, now=T0)
    assert (s.name, s.role, s.expires_at) == ("sato", "member", T0 + 60) and len(s.token) >= 32
    assert accounts.check_session(s, now=T0 + 59) == acc
    assert accounts.check_session(s, now=T0 + 60) is None
    assert accounts.new_session(acc).token != s.token
    default = accounts.new_session(acc, now=T0)
    assert default.expires_at == T0 + 8 * 3600
    monkeypatch.setenv("KB_SESSION_TTL", "120")
    assert accounts.new_session(acc, now=T0).expires_at == T0 + 120
    for bad in ("abc", "-5", "0", ""):
        monkeypatch.setenv("KB_SESSION_TTL", bad)
        assert accounts.new_session(acc, now=T0).expires_at == T0 + 8 * 3600


def test_session_revoked_when_account_changes(data_dir):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    s = accounts.new_session(acc, ttl_seconds=3600, now=T0, data_dir=data_dir)
    assert accounts.check_session(s, now=T0 + 1, data_dir=data_dir) == acc
    accounts.set_password(data_dir, "sato", "another password")
    assert accounts.check_session(s, now=T0 + 2, data_dir=data_dir) is None
    s = accounts.new_session(acc, ttl_seconds=3600, now=T0, data_dir=data_dir)
    accounts.remove_user(data_dir, "sato")
    assert accounts.check_session(s, now=T0 + 3, data_dir=data_dir) is None
    accounts.add_user(data_dir, "sato", "member", PASSWORD)  # same name and password, new salt
    assert accounts.check_session(s, now=T0 + 4, data_dir=data_dir) is None


@pytest.mark.parametrize("forged", [None, "member", {"role": "secretariat"},
                                    accounts.Session("t", "sato", "admin", T0 + 999),
                                    accounts.Session("t", "sato", "public", T0 + 999)])
def test_forged_sessions_rejected(forged):
    assert accounts.check_session(forged, now=T0) is None


def test_forged_session_with_data_dir(data_dir):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    raised = accounts.Session("t", "sato", "secretariat", T0 + 999,
                              accounts.new_session(acc, now=T0, data_dir=data_dir).stamp)
    assert accounts.check_session(raised, now=T0, data_dir=data_dir) is None


# -- sessions kept server-side (the login cookie) ---------------------------------------------------------
def test_session_token_is_random_and_kept_hashed(data_dir):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    a = accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0)
    b = accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0)
    assert a.token != b.token and len(a.token) >= 43 and accounts.resume_session(data_dir, a.token, now=T0) == a
    path = data_dir / accounts.SESSIONS_FILE
    raw = path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert a.token not in raw and b.token not in raw and PASSWORD not in raw  # only hashes at rest
    stored = json.loads(raw)["sessions"]
    assert len(stored) == 2 and all(v["name"] == "sato" and v["expires"] == T0 + 600 for v in stored.values())
    # the token is opaque: nothing in it names the user or the role
    assert "sato" not in a.token and "member" not in a.token


def test_session_token_expires_and_is_revoked_at_logout(data_dir):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    s = accounts.start_session(data_dir, acc, ttl_seconds=60, now=T0)
    assert accounts.resume_session(data_dir, s.token, now=T0 + 59).name == "sato"
    assert accounts.resume_session(data_dir, s.token, now=T0 + 60) is None  # expired
    s = accounts.start_session(data_dir, acc, ttl_seconds=60, now=T0)
    assert accounts.end_session(data_dir, s.token) is True
    assert accounts.resume_session(data_dir, s.token, now=T0 + 1) is None  # logged out: the cookie is worthless
    assert accounts.end_session(data_dir, s.token) is False
    assert s.token not in (data_dir / accounts.SESSIONS_FILE).read_text(encoding="utf-8")


def test_session_tokens_end_with_the_account(data_dir):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    other = accounts.add_user(data_dir, "suzuki", "member", PASSWORD)
    s = accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0)
    t = accounts.start_session(data_dir, other, ttl_seconds=600, now=T0)
    accounts.set_password(data_dir, "sato", "another password")
    assert accounts.resume_session(data_dir, s.token, now=T0 + 1) is None
    assert accounts.resume_session(data_dir, t.token, now=T0 + 1) is not None  # others stay logged in
    s = accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0)
    assert accounts.end_user_sessions(data_dir, "sato") == 1
    assert accounts.resume_session(data_dir, s.token, now=T0 + 1) is None
    s = accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0)
    accounts.remove_user(data_dir, "sato")
    accounts.add_user(data_dir, "sato", "secretariat", PASSWORD)  # the same name again, another role
    assert accounts.resume_session(data_dir, s.token, now=T0 + 1) is None


@pytest.mark.parametrize("token", [None, "", "short", "x" * 500, "a" * 43 + "\n", "../../etc/passwd" + "a" * 30,
                                   {"name": "sato"}, "A" * 43])
def test_unknown_or_malformed_tokens(data_dir, token):
    accounts.add_user(data_dir, "sato", "member", PASSWORD)
    assert accounts.resume_session(data_dir, token, now=T0) is None
    assert accounts.redeem_handoff(data_dir, token, now=T0) is None
    assert accounts.end_session(data_dir, token) is False


def test_sessions_per_user_are_bounded(data_dir):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    tokens = [accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0 + i).token
              for i in range(accounts.MAX_SESSIONS_PER_USER + 3)]
    live = [t for t in tokens if accounts.resume_session(data_dir, t, now=T0 + 100)]
    assert live == tokens[3:]  # the oldest went first


def test_handoff_code_gives_the_token_once(data_dir):
    acc = accounts.add_user(data_dir, "sato", "member", PASSWORD)
    s = accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0)
    code = accounts.handoff(data_dir, s, now=T0)
    assert code != s.token and s.token not in (data_dir / accounts.SESSIONS_FILE).read_text(encoding="utf-8")
    assert accounts.redeem_handoff(data_dir, code, now=T0 + 1) == s
    assert accounts.redeem_handoff(data_dir, code, now=T0 + 2) is None  # one use only
    late = accounts.handoff(data_dir, s, now=T0)
    assert accounts.redeem_handoff(data_dir, late, now=T0 + accounts.HANDOFF_TTL + 1) is None  # expired
    gone = accounts.handoff(data_dir, s, now=T0)
    accounts.end_session(data_dir, s.token)
    assert accounts.redeem_handoff(data_dir, gone, now=T0 + 1) is None  # logged out meanwhile
    assert accounts.cookie_max_age(s, now=T0 + 100) == 500


def test_speaker_links(data_dir):
    acc = accounts.add_user(data_dir, "saeki", "member", PASSWORD, speaker="佐伯 一郎")
    assert acc.speaker == "佐伯一郎"
    assert accounts.get_account(data_dir, "saeki").speaker == "佐伯一郎"
    assert accounts.authenticate(data_dir, "saeki", PASSWORD, now=T0).speaker == "佐伯一郎"
    s = accounts.start_session(data_dir, acc, ttl_seconds=600, now=T0)
    assert accounts.link_speaker(data_dir, "saeki", "佐伯隆之").speaker == "佐伯隆之"
    # the link follows the account, the session goes on
    assert accounts.check_session(s, now=T0 + 1, data_dir=data_dir).speaker == "佐伯隆之"
    assert [u["speaker"] for u in accounts.list_users(data_dir)] == ["佐伯隆之"]
    assert accounts.link_speaker(data_dir, "saeki", "").speaker == ""
    with pytest.raises(AccountError, match="登録されていません"):
        accounts.link_speaker(data_dir, "nobody", "佐伯")
    with pytest.raises(AccountError, match="64"):
        accounts.link_speaker(data_dir, "saeki", "長" * 65)


# -- kb user -------------------------------------------------------------------------------------
def _kb(index, *args, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
            main(["--index", str(index), *args])
    finally:
        sys.stdin = old
    return e.value.code, out.getvalue(), err.getvalue()


def test_cli_user_lifecycle(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_USER", "jimukyoku")
    index = tmp_path / "data" / "index"  # the index need not exist for user management
    data = tmp_path / "data"
    code, out, _ = _kb(index, "user", "add", "sato", "--role", "member", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "追加しました" in out
    assert accounts.authenticate(data, "sato", PASSWORD, now=T0).role == "member"
    code, out, err = _kb(index, "user", "add", "sato", "--role", "member", "--password-stdin", stdin=PASSWORD)
    assert code == 1 and "既に" in err
    code, out, _ = _kb(index, "user", "list", "--json")
    users = json.loads(out)
    assert [u["name"] for u in users] == ["sato"] and "hash" not in users[0]
    assert "会員" in _kb(index, "user", "list")[1]
    code, out, _ = _kb(index, "user", "passwd", "sato", "--password-stdin", stdin="new password\r\n")
    assert code == 0 and accounts.authenticate(data, "sato", "new password", now=T0 + 1)
    code, out, _ = _kb(index, "user", "remove", "sato")
    assert code == 0 and accounts.list_users(data) == []
    code, _, err = _kb(index, "user", "remove", "sato")
    assert code == 1 and "登録されていません" in err
    code, _, err = _kb(index, "user", "passwd", "sato", "--password-stdin", stdin=PASSWORD)
    assert code == 1 and "登録されていません" in err
    audit = [(e["actor"], e["action"], e["detail"]) for e in entries(data) if e["action"].startswith("user_")]
    assert audit == [("jimukyoku", "user_add", "name=sato role=member"), ("jimukyoku", "user_passwd", "name=sato"),
                     ("jimukyoku", "user_remove", "name=sato")]
    assert "登録されているユーザーはいません" in _kb(index, "user", "list")[1]


def test_cli_user_speaker_link(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_USER", "jimukyoku")
    index, data = tmp_path / "data" / "index", tmp_path / "data"
    code, out, _ = _kb(index, "user", "add", "saeki", "--role", "member", "--speaker", "佐伯 一郎",
                       "--password-stdin", stdin=PASSWORD)
    assert code == 0 and "話者「佐伯一郎」" in out
    assert accounts.get_account(data, "saeki").speaker == "佐伯一郎"
    code, out, _ = _kb(index, "user", "link", "saeki", "佐伯隆之")
    assert code == 0 and "佐伯隆之" in out and accounts.get_account(data, "saeki").speaker == "佐伯隆之"
    assert "話者 佐伯隆之" in _kb(index, "user", "list")[1]
    assert json.loads(_kb(index, "user", "list", "--json")[1])[0]["speaker"] == "佐伯隆之"
    code, out, _ = _kb(index, "user", "link", "saeki", "")
    assert code == 0 and "解除" in out and accounts.get_account(data, "saeki").speaker == ""
    code, _, err = _kb(index, "user", "link", "nobody", "佐伯")
    assert code == 1 and "登録されていません" in err
    audit = [(e["actor"], e["action"], e["detail"]) for e in entries(data) if e["action"].startswith("user_")]
    assert audit == [("jimukyoku", "user_add", "name=saeki role=member speaker=佐伯一郎"),
                     ("jimukyoku", "user_link", "name=saeki speaker=佐伯隆之"),
                     ("jimukyoku", "user_link", "name=saeki speaker=")]


@pytest.mark.parametrize("args, stdin, message", [
    (["add", "a b", "--role", "member", "--password-stdin"], PASSWORD, "空白"),
    (["add", "x" * 65, "--role", "member", "--password-stdin"], PASSWORD, "64"),
    (["add", "sato", "--role", "member", "--password-stdin"], "short\n", "8 文字以上"),
    (["add", "sato", "--role", "member", "--password-stdin"], "", "8 文字以上"),
])
def test_cli_user_errors(tmp_path, args, stdin, message):
    code, out, err = _kb(tmp_path / "index", "user", *args, stdin=stdin)
    assert code == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / accounts.USERS_FILE).exists()


def test_cli_user_usage_errors(tmp_path):
    for args in (["user"], ["user", "add", "sato"], ["user", "add", "sato", "--role", "admin"]):
        code, _, err = _kb(tmp_path / "index", *args)
        assert code == 2 and "引数が正しくありません" in err


def test_cli_user_prompts_twice(tmp_path, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert _kb(tmp_path / "index", "user", "add", "佐藤", "--role", "secretariat")[0] == 0
    assert accounts.authenticate(tmp_path, "佐藤", PASSWORD, now=T0).role == "secretariat"
    answers = iter(["new password 1", "new password 2"])
    code, _, err = _kb(tmp_path / "index", "user", "passwd", "佐藤")
    assert code == 1 and "一致しません" in err


# -- app/auth.py ---------------------------------------------------------------------------------
def _page(data_dir: str, app_dir: str) -> None:
    import sys

    import streamlit as st

    sys.path.insert(0, app_dir)
    import auth

    role = auth.current_role()
    st.text(f"role={role}")
    if role == "public":
        auth.login_form(data_dir)
    else:
        auth.logout_button()


@pytest.fixture
def app(tmp_path):
    from streamlit.testing.v1 import AppTest

    accounts.add_user(tmp_path, "sato", "member", PASSWORD)
    at = AppTest.from_function(_page, args=(str(tmp_path), str(ROOT / "app")), default_timeout=30)
    return at.run()


def _login(at, name, password):
    at.text_input(key="_auth_name").input(name)
    at.text_input(key="_auth_password").input(password)
    at.button[0].click()
    return at.run()


def test_app_login_and_logout(app):
    assert app.text[0].value == "role=public" and app.session_state["role"] == "public"
    at = _login(app, "sato", PASSWORD)
    assert not at.exception
    assert at.session_state["role"] == "member" and at.text[0].value == "role=member"
    session = at.session_state["auth"]
    assert isinstance(session, accounts.Session) and session.name == "sato"
    assert at.session_state["_auth_password"] == ""  # the password is not kept
    assert "sato" in at.caption[0].value
    at.button(key="kb_logout").click()
    at = at.run()
    assert at.session_state["role"] == "public" and "auth" not in at.session_state


def test_app_wrong_password_and_lock(app):
    at = _login(app, "sato", "wrong-password")
    assert at.error[0].value == "ユーザー名またはパスワードが違います。" and at.session_state["role"] == "public"
    for _ in range(2):
        at = _login(at, "sato", "wrong-password")
    at = _login(at, "sato", PASSWORD)  # locked: refused although the password is right
    assert "しばらく待ってから" in at.error[0].value and at.session_state["role"] == "public"
    assert "次に試せるまで" in at.caption[0].value


def test_app_session_expires(app):
    at = _login(app, "sato", PASSWORD)
    s = at.session_state["auth"]
    at.session_state["auth"] = accounts.Session(s.token, s.name, s.role, 0.0, s.stamp)
    at = at.run()
    assert at.session_state["role"] == "public" and "auth" not in at.session_state
    assert "有効期限" in at.error[0].value


def test_app_role_cannot_be_set_without_a_session(app):
    app.session_state["role"] = "secretariat"  # e.g. a leftover widget value
    at = app.run()
    assert at.text[0].value == "role=public" and at.session_state["role"] == "public"
