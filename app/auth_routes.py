"""The login cookie's HTTP routes, served beside the pages by `st.App` (see the end of `streamlit_app.py`).

Streamlit reads cookies (`st.context.cookies`) but a script cannot send `Set-Cookie`; `st.App(routes=...)`
(Streamlit's own ASGI app) can. Two routes, both POST from the app's own page (`auth.sync_cookie`):

- `/kb-auth/session` — body: the one-time code of a login (`accounts.handoff`). Answers 204 with
  `Set-Cookie: kb_session=<token>; HttpOnly; Max-Age=<rest of the session>; Path=/; SameSite=Strict`
  (`; Secure` when the page came over HTTPS), 403 for an unknown, used or expired code.
- `/kb-auth/logout` — ends the session of the cookie it receives (if still alive) and clears the cookie.

Requests from another origin are refused (403). The token is only ever in the `Set-Cookie` header and the
browser's cookie jar: never in the page, a script, the URL or the log.
"""

from __future__ import annotations

import auth
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from indexer.archive import accounts
from indexer.archive.audit import record

MAX_BODY = 256


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip().lower() == "https"


async def set_session_cookie(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    code = (await request.body())[:MAX_BODY].decode("ascii", "replace").strip()
    session = await run_in_threadpool(accounts.redeem_handoff, auth.default_data_dir(), code)
    if session is None:
        return Response(status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(accounts.COOKIE_NAME, session.token, max_age=accounts.cookie_max_age(session), path="/",
                        secure=_secure(request), httponly=True, samesite="strict")
    return response


def _end(data_dir: str, token: str) -> None:
    session = accounts.resume_session(data_dir, token)
    if session is not None and accounts.end_session(data_dir, token):
        record(data_dir, session.name, "logout")


async def clear_session_cookie(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    token = request.cookies.get(accounts.COOKIE_NAME, "")
    if token:
        await run_in_threadpool(_end, auth.default_data_dir(), token)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(accounts.COOKIE_NAME, path="/", secure=_secure(request), httponly=True, samesite="strict")
    return response


ROUTES = [
    Route(auth.COOKIE_ROUTE, set_session_cookie, methods=["POST"]),
    Route(auth.LOGOUT_ROUTE, clear_session_cookie, methods=["POST"]),
]
