"""The login cookie's HTTP routes (app/auth_routes.py), called as the ASGI server calls them (no browser).

The browser tests (tests/e2e/test_login.py) show the cookie at work; these pin down the header itself and
the refusals: a used or unknown code, another origin.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.requests import Request  # noqa: E402

from indexer.archive import accounts, audit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))

import auth_routes  # noqa: E402

PASSWORD = "correct horse 8"


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATA", str(tmp_path))
    monkeypatch.delenv("KB_INDEX", raising=False)
    accounts.add_user(tmp_path, "kaiin", "member", PASSWORD)
    return tmp_path


def call(handler, body: bytes = b"", headers: dict | None = None, scheme: str = "http"):
    headers = {"host": "127.0.0.1:8501", **(headers or {})}
    scope = {"type": "http", "method": "POST", "path": "/", "scheme": scheme, "server": ("127.0.0.1", 8501),
             "query_string": b"", "root_path": "", "http_version": "1.1",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    return asyncio.run(handler(Request(scope, receive)))


def login(data: Path) -> tuple[accounts.Session, str]:
    session = accounts.start_session(data, accounts.get_account(data, "kaiin"))
    return session, accounts.handoff(data, session)


def test_the_route_sets_an_httponly_strict_cookie_once(data):
    session, code = login(data)
    res = call(auth_routes.set_session_cookie, code.encode(), {"origin": "http://127.0.0.1:8501"})
    assert res.status_code == 204 and res.headers["cache-control"] == "no-store"
    cookie = res.headers["set-cookie"]
    assert cookie.startswith(f"{accounts.COOKIE_NAME}={session.token};")
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= set(attrs) and "secure" not in attrs
    assert attrs["path"] == "Path=/" and attrs["samesite"].lower() == "samesite=strict"
    assert 0 < int(attrs["max-age"].split("=")[1]) <= accounts.session_ttl()
    # the code works once
    assert call(auth_routes.set_session_cookie, code.encode()).status_code == 403
    assert "set-cookie" not in call(auth_routes.set_session_cookie, b"made-up-code-" + b"x" * 30).headers


def test_secure_behind_https_and_other_origins_refused(data):
    _, code = login(data)
    assert call(auth_routes.set_session_cookie, code.encode(), {"origin": "https://evil.example"}).status_code == 403
    assert call(auth_routes.set_session_cookie, code.encode(), {"sec-fetch-site": "cross-site"}).status_code == 403
    res = call(auth_routes.set_session_cookie, code.encode(), {"x-forwarded-proto": "https"})  # not used up above
    assert res.status_code == 204 and "secure" in res.headers["set-cookie"].lower()


def test_logout_route_revokes_and_clears(data):
    session, _ = login(data)
    refused = call(auth_routes.clear_session_cookie, headers={"origin": "http://evil.example",
                                                              "cookie": f"{accounts.COOKIE_NAME}={session.token}"})
    assert refused.status_code == 403 and accounts.resume_session(data, session.token) is not None
    res = call(auth_routes.clear_session_cookie, headers={"cookie": f"{accounts.COOKIE_NAME}={session.token}"})
    assert res.status_code == 204
    cleared = res.headers["set-cookie"].lower()
    assert cleared.startswith(f'{accounts.COOKIE_NAME}="";') and "max-age=0" in cleared and "httponly" in cleared
    assert accounts.resume_session(data, session.token) is None
    assert [e["actor"] for e in audit.entries(data) if e["action"] == "logout"] == ["kaiin"]
    # without a cookie, or with a dead one, it only clears
    assert call(auth_routes.clear_session_cookie, headers={"cookie": f"{accounts.COOKIE_NAME}={session.token}"}
                ).status_code == 204
    assert [e["actor"] for e in audit.entries(data) if e["action"] == "logout"] == ["kaiin"]
