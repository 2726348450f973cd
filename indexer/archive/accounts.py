"""Local accounts: salted scrypt password hashes, throttled logins, expiring sessions.

- Accounts live in `<data dir>/users.json` (written atomically, mode 0600). Roles: member, secretariat;
  anyone without a session is `public`.
- Passwords are hashed with `hashlib.scrypt` (n=2**14, r=8, p=1, 16-byte random salt) and compared
  with `hmac.compare_digest`. Names and passwords are NFKC-normalised (全角/半角 typed alike).
- Failed logins are counted per name and globally in `<data dir>/login_failures.json`; after
  `LOCK_AFTER` failures a name must wait 2**(n-LOCK_AFTER) s (capped at 5 min). While locked,
  `authenticate` raises `LoginLocked` without looking at the password.
- A `Session` expires after `KB_SESSION_TTL` seconds (default 8 h) and dies when the account is removed
  or its password or role changes. Time is injectable (`now=`) for tests.
- Logins that outlive a page (reload, new tab, bookmark): `start_session` issues an opaque random token
  (`secrets.token_urlsafe(32)`, 256 bits) and keeps only its SHA-256 in `<data dir>/sessions.json` (0600)
  with the name, the account's stamp and the expiry. The browser holds the token in a cookie; `resume_session`
  finds the session again from it, `end_session` (logout) and `end_user_sessions` (account removed, password
  changed) delete it. Nothing the browser holds says who it is or what it may do: a token is worth only what
  the server still keeps for it.
- The cookie is set over HTTP by the app's own route (`app/auth_routes.py`), never by script: the page gets a
  one-time `handoff` code (60 s, its hash kept, the token stored encrypted under the code) and the route
  `redeem_handoff`s it for the token it puts into the `Set-Cookie` header.
- An account may be linked to a speaker name (`speaker`), which fills 「自分への質問」 on the Q&A page.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> add_user(d, "sato", "member", "correct horse")
Account(name='sato', role='member', speaker='')
>>> authenticate(d, "sato", "wrong password") is None, authenticate(d, "sato", "correct horse").role
(True, 'member')
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import KbError

USERS_FILE = "users.json"
SESSIONS_FILE = "sessions.json"
FAILURES_FILE = "login_failures.json"
SAVED_FILE = "saved_searches.json"  # each account's saved searches and visits (`saved.py`, `visits.py`)
COOKIE_NAME = "kb_session"
HANDOFF_TTL = 60  # seconds a login's one-time code may be exchanged for the cookie
MAX_SESSIONS_PER_USER = 20  # the oldest go first (a browser that never logs out does not grow the file)
MAX_SPEAKER = 64
LOCK_FILE = ".accounts.lock"
ACCOUNT_ROLES = ("member", "secretariat")
ROLE_LABELS = {"public": "公開", "member": "会員", "secretariat": "事務局"}
MAX_NAME = 64
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P, SALT_BYTES, KEY_BYTES = 2**14, 8, 1, 16, 32
DEFAULT_TTL = 8 * 3600
LOCK_AFTER = 3  # failures of one name before it is slowed down
MAX_WAIT = 300.0  # seconds
GLOBAL_LOCK_AFTER = 50  # failures over every name (a password-spraying attack) before everyone waits
GLOBAL_MAX_WAIT = 60.0
FORGET_AFTER = 24 * 3600  # a name's failures are forgotten this long after the last one
MAX_TRACKED = 10_000  # names kept in the failure file


class AccountError(KbError):
    """An account operation failed (bad name, bad password, unknown user ...)."""


class LoginLocked(KbError):
    """Too many failed logins: wait `retry_after` seconds (the password was not checked)."""

    def __init__(self, retry_after: float):
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"ログインの失敗が続いたため、しばらく待ってから（あと {wait_label(self.retry_after)}）"
                         "もう一度お試しください。")


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    speaker: str = ""  # the speaker name this account is (「自分への質問」), "" when not linked


@dataclass(frozen=True)
class Session:
    """A logged-in user. `stamp` ties it to the account's current password and role."""

    token: str
    name: str
    role: str
    expires_at: float
    stamp: str = ""


def wait_label(seconds: float) -> str:
    """A wait in Japanese.

    >>> wait_label(5), wait_label(125)
    ('5 秒', '2 分 5 秒')
    """
    s = max(0, int(seconds))
    return f"{s // 60} 分 {s % 60} 秒" if s >= 60 else f"{s} 秒"


# -- validation --------------------------------------------------------------------------------------
def check_name(name: str) -> str:
    """The NFKC form of a valid user name; AccountError (Japanese) otherwise.

    >>> check_name("ｓａｔｏ")
    'sato'
    """
    if not isinstance(name, str):
        raise AccountError("ユーザー名は文字列で指定してください。")
    n = unicodedata.normalize("NFKC", name)
    if not 1 <= len(n) <= MAX_NAME:
        raise AccountError(f"ユーザー名は 1〜{MAX_NAME} 文字で指定してください。")
    if any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in n):
        raise AccountError("ユーザー名に空白や制御文字は使えません。")
    return n


def check_password(password: str) -> str:
    if not isinstance(password, str):
        raise AccountError("パスワードは文字列で指定してください。")
    p = unicodedata.normalize("NFKC", password)
    if len(p) < MIN_PASSWORD:
        raise AccountError(f"パスワードは {MIN_PASSWORD} 文字以上にしてください。")
    if len(p) > MAX_PASSWORD:
        raise AccountError(f"パスワードは {MAX_PASSWORD} 文字以内にしてください。")
    if "\x00" in p:
        raise AccountError("パスワードに NUL 文字は使えません。")
    return p


def check_speaker(speaker: str | None) -> str:
    """A speaker name as the index writes it (NFKC, no spaces: 「佐伯 一郎」 → 「佐伯一郎」); "" unlinks.

    >>> check_speaker(" 佐伯　一郎 "), check_speaker("")
    ('佐伯一郎', '')
    """
    if speaker is None:
        return ""
    if not isinstance(speaker, str):
        raise AccountError("話者名は文字列で指定してください。")
    s = "".join(unicodedata.normalize("NFKC", speaker).split())
    if len(s) > MAX_SPEAKER:
        raise AccountError(f"話者名は {MAX_SPEAKER} 文字以内で指定してください。")
    if any(unicodedata.category(c)[0] == "C" for c in s):
        raise AccountError("話者名に制御文字は使えません。")
    return s


def check_role(role: str) -> str:
    if role not in ACCOUNT_ROLES:
        raise AccountError(f"役割は {' / '.join(ACCOUNT_ROLES)} のいずれかです: {role}")
    return role


# -- hashing -----------------------------------------------------------------------------------------
def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                          maxmem=256 * 1024 * 1024)


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$key` (base64); a new random salt every time."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(check_password(password), salt)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, key = stored.split("$")
        if algo != "scrypt":
            return False
        want = base64.b64decode(key)
        got = _scrypt(unicodedata.normalize("NFKC", password), base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(bytes(SALT_BYTES))}${_b64(bytes(KEY_BYTES))}"


def _stamp(entry: dict) -> str:
    return hashlib.sha256(f"{entry.get('role')}|{entry.get('hash')}".encode()).hexdigest()[:32]


# -- files -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(data_dir: Path):
    """An exclusive lock for read-modify-write of the account files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_json(path: Path, default: dict) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError):
        raise AccountError(f"{path.name} を読めません（壊れているか、権限がありません）: {path}") from None
    if not isinstance(data, dict):
        raise AccountError(f"{path.name} の形式が正しくありません: {path}")
    return data


def _write_json(path: Path, data: dict) -> None:
    """Write atomically: a 0600 temporary file in the same directory, fsync, os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _users(data_dir: Path) -> dict[str, dict]:
    users = _read_json(data_dir / USERS_FILE, {"users": {}}).get("users", {})
    return users if isinstance(users, dict) else {}


def _save_users(data_dir: Path, users: dict[str, dict]) -> None:
    _write_json(data_dir / USERS_FILE, {"version": 1, "users": users})


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# -- user management ---------------------------------------------------------------------------------
def list_users(data_dir: str | Path) -> list[dict]:
    """[{name, role, speaker, created, updated}] sorted by name (never the hashes)."""
    users = _users(Path(data_dir))
    return [{"name": n, "role": u.get("role", ""), "speaker": u.get("speaker", ""), "created": u.get("created", ""),
             "updated": u.get("updated", "")} for n, u in sorted(users.items())]


def get_account(data_dir: str | Path, name: str) -> Account | None:
    try:
        name = check_name(name)
    except AccountError:
        return None
    u = _users(Path(data_dir)).get(name)
    return _account(name, u) if u and u.get("role") in ACCOUNT_ROLES else None


def _account(name: str, entry: dict) -> Account:
    return Account(name, entry["role"], str(entry.get("speaker") or ""))


def add_user(data_dir: str | Path, name: str, role: str, password: str, speaker: str = "") -> Account:
    data_dir = Path(data_dir)
    name, role, speaker = check_name(name), check_role(role), check_speaker(speaker)
    hashed = hash_password(password)
    with _locked(data_dir):
        users = _users(data_dir)
        if name in users:
            raise AccountError(f"ユーザー「{name}」は既に登録されています。")
        now = _now_iso()
        users[name] = {"role": role, "hash": hashed, "created": now, "updated": now}
        if speaker:
            users[name]["speaker"] = speaker
        _save_users(data_dir, users)
    return Account(name, role, speaker)


def remove_user(data_dir: str | Path, name: str) -> None:
    """Remove an account (and end its sessions, and drop its saved searches)."""
    data_dir = Path(data_dir)
    name = check_name(name)
    with _locked(data_dir):
        users = _users(data_dir)
        if users.pop(name, None) is None:
            raise AccountError(f"ユーザー「{name}」は登録されていません。")
        _save_users(data_dir, users)
        _drop_sessions(data_dir, lambda e: e.get("name") == name)
        saved = _read_json(data_dir / SAVED_FILE, {})
        if isinstance(saved.get("users"), dict) and saved["users"].pop(name, None) is not None:
            _write_json(data_dir / SAVED_FILE, saved)  # its saved searches and visits (`saved.py`) go too


def link_speaker(data_dir: str | Path, name: str, speaker: str, actor: str | None = None) -> Account:
    """Link an account to a speaker name (`speaker` "" removes the link); its sessions go on. With `actor`,
    the change is written to the audit log (`user_link`)."""
    from indexer.archive.audit import record

    data_dir = Path(data_dir)
    name, speaker = check_name(name), check_speaker(speaker)
    with _locked(data_dir):
        users = _users(data_dir)
        if name not in users:
            raise AccountError(f"ユーザー「{name}」は登録されていません。")
        if speaker:
            users[name]["speaker"] = speaker
        else:
            users[name].pop("speaker", None)
        users[name]["updated"] = _now_iso()
        _save_users(data_dir, users)
        account = _account(name, users[name])
    if actor:
        record(data_dir, actor, "user_link", detail=f"name={name} speaker={speaker}")
    return account


def set_password(data_dir: str | Path, name: str, password: str) -> None:
    """Change a password (ends the user's sessions, clears their failed-login count)."""
    data_dir = Path(data_dir)
    name = check_name(name)
    hashed = hash_password(password)
    with _locked(data_dir):
        users = _users(data_dir)
        if name not in users:
            raise AccountError(f"ユーザー「{name}」は登録されていません。")
        users[name].update(hash=hashed, updated=_now_iso())
        _save_users(data_dir, users)
        _drop_sessions(data_dir, lambda e: e.get("name") == name)
        failures = _failures(data_dir)
        if failures["names"].pop(name, None) is not None:
            _write_json(data_dir / FAILURES_FILE, failures)


# -- login -------------------------------------------------------------------------------------------
def _failures(data_dir: Path) -> dict:
    try:
        data = _read_json(data_dir / FAILURES_FILE, {})
    except AccountError:
        data = {}  # a damaged counter file must not lock everyone out for good
    names = data.get("names") if isinstance(data.get("names"), dict) else {}
    glob = data.get("global") if isinstance(data.get("global"), dict) else {}
    return {"names": names, "global": glob}


def _wait(entry: dict, after: int, cap: float, now: float) -> float:
    count, last = int(entry.get("count", 0)), float(entry.get("last", 0.0))
    if count < after:
        return 0.0
    return max(0.0, last + min(cap, 2.0 ** min(count - after, 30)) - now)


def lock_remaining(data_dir: str | Path, name: str, now: float | None = None) -> float:
    """Seconds before `name` may try again (0 when not locked)."""
    now = time.time() if now is None else now
    f = _failures(Path(data_dir))
    key = _failure_key(name)
    return max(_wait(f["names"].get(key, {}), LOCK_AFTER, MAX_WAIT, now),
               _wait(f["global"], GLOBAL_LOCK_AFTER, GLOBAL_MAX_WAIT, now))


def _failure_key(name: str) -> str:
    try:
        return check_name(name)
    except AccountError:
        return "\x00invalid"  # every malformed name shares one counter


def _record_failure(data_dir: Path, key: str, now: float) -> None:
    f = _failures(data_dir)
    names = f["names"]
    for k in [k for k, v in names.items() if now - float(v.get("last", 0)) > FORGET_AFTER]:
        del names[k]
    if len(names) >= MAX_TRACKED:  # forget the oldest names rather than grow without bound
        for k, _ in sorted(names.items(), key=lambda kv: kv[1].get("last", 0))[: len(names) - MAX_TRACKED + 1]:
            del names[k]
    e = names.setdefault(key, {"count": 0, "last": 0.0})
    e["count"], e["last"] = int(e.get("count", 0)) + 1, now
    g = f["global"]
    if now - float(g.get("last", 0.0)) > 15 * 60:  # the global counter measures recent bursts only
        g["count"] = 0
    g["count"], g["last"] = int(g.get("count", 0)) + 1, now
    _write_json(data_dir / FAILURES_FILE, f)


def authenticate(data_dir: str | Path, name: str, password: str, now: float | None = None) -> Account | None:
    """The account for a correct name and password, else None.

    Raises LoginLocked (without checking the password) while the name, or every name, is throttled.
    Unknown names cost the same scrypt work as known ones.
    """
    from indexer.archive.audit import record

    data_dir = Path(data_dir)
    now = time.time() if now is None else now
    key = _failure_key(name)
    actor = key if key != "\x00invalid" else "(不正なユーザー名)"
    with _locked(data_dir):
        wait = lock_remaining(data_dir, key, now)
    if wait > 0:
        record(data_dir, actor, "login_locked", detail=f"{int(wait)}s")
        raise LoginLocked(wait)
    entry = _users(data_dir).get(key) if key != "\x00invalid" else None
    ok = verify_password(password if isinstance(password, str) else "", entry["hash"] if entry else _DUMMY_HASH)
    if not ok or entry is None or entry.get("role") not in ACCOUNT_ROLES:
        with _locked(data_dir):
            _record_failure(data_dir, key, now)
        record(data_dir, actor, "login_failed")
        return None
    with _locked(data_dir):
        f = _failures(data_dir)
        if f["names"].pop(key, None) is not None:
            _write_json(data_dir / FAILURES_FILE, f)
    record(data_dir, key, "login")
    return _account(key, entry)


# -- sessions ----------------------------------------------------------------------------------------
def session_ttl() -> int:
    """`$KB_SESSION_TTL` seconds (a positive integer), else 8 hours."""
    try:
        ttl = int(os.environ.get("KB_SESSION_TTL", ""))
    except ValueError:
        return DEFAULT_TTL
    return ttl if ttl > 0 else DEFAULT_TTL


def new_session(account: Account, ttl_seconds: int | None = None, now: float | None = None,
                data_dir: str | Path | None = None) -> Session:
    """A session for `account`; with `data_dir`, bound to its current password and role."""
    now = time.time() if now is None else now
    ttl = session_ttl() if ttl_seconds is None else ttl_seconds
    stamp = ""
    if data_dir is not None:
        entry = _users(Path(data_dir)).get(account.name)
        stamp = _stamp(entry) if entry else ""
    return Session(token=secrets.token_urlsafe(32), name=account.name, role=account.role,
                   expires_at=now + ttl, stamp=stamp)


def check_session(session: object, now: float | None = None, data_dir: str | Path | None = None) -> Account | None:
    """The session's account while it is valid: not expired, and (with `data_dir`) the account still
    exists with the same role and password. None otherwise."""
    if not isinstance(session, Session) or session.role not in ACCOUNT_ROLES:
        return None
    now = time.time() if now is None else now
    if not now < session.expires_at:
        return None
    if data_dir is not None:
        try:
            entry = _users(Path(data_dir)).get(session.name)
        except AccountError:
            return None
        if not entry or entry.get("role") != session.role or not hmac.compare_digest(_stamp(entry), session.stamp):
            return None
        return _account(session.name, entry)
    return Account(session.name, session.role)


# -- sessions kept server-side (the browser's cookie holds only the token) ------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(f"kb-session|{token}".encode()).hexdigest()


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and 20 <= len(token) <= 128 and all(c.isalnum() or c in "-_" for c in token)


def _sessions(data_dir: Path) -> dict:
    try:
        data = _read_json(data_dir / SESSIONS_FILE, {})
    except AccountError:
        data = {}  # a damaged session file logs everyone out, nothing worse
    sessions = data.get("sessions") if isinstance(data.get("sessions"), dict) else {}
    handoffs = data.get("handoffs") if isinstance(data.get("handoffs"), dict) else {}
    return {"sessions": sessions, "handoffs": handoffs}


def _save_sessions(data_dir: Path, store: dict, now: float) -> None:
    """Write the store without what has expired (call while holding `_locked`)."""
    store["sessions"] = {k: v for k, v in store["sessions"].items() if float(v.get("expires", 0)) > now}
    store["handoffs"] = {k: v for k, v in store["handoffs"].items() if float(v.get("expires", 0)) > now}
    _write_json(data_dir / SESSIONS_FILE, {"version": 1, **store})


def _drop_sessions(data_dir: Path, which) -> int:
    """Delete the kept sessions `which(entry)` selects (call while holding `_locked`)."""
    store = _sessions(data_dir)
    gone = [k for k, v in store["sessions"].items() if which(v)]
    if gone or store["handoffs"]:
        for k in gone:
            del store["sessions"][k]
        store["handoffs"] = {k: v for k, v in store["handoffs"].items() if v.get("session") not in gone}
        _save_sessions(data_dir, store, time.time())
    return len(gone)


def start_session(data_dir: str | Path, account: Account, ttl_seconds: int | None = None,
                  now: float | None = None) -> Session:
    """Log `account` in for `KB_SESSION_TTL` seconds: a new random token, kept server-side as its hash only.

    The returned Session carries the token (for the browser's cookie and for `end_session`)."""
    data_dir = Path(data_dir)
    now = time.time() if now is None else now
    session = new_session(account, ttl_seconds, now, data_dir)
    with _locked(data_dir):
        store = _sessions(data_dir)
        mine = sorted((v.get("created", 0), k) for k, v in store["sessions"].items() if v.get("name") == account.name)
        for _, k in mine[: max(0, len(mine) - MAX_SESSIONS_PER_USER + 1)]:
            del store["sessions"][k]
        store["sessions"][_token_hash(session.token)] = {
            "name": session.name, "role": session.role, "stamp": session.stamp, "created": now,
            "expires": session.expires_at}
        _save_sessions(data_dir, store, now)
    return session


def resume_session(data_dir: str | Path, token: object, now: float | None = None) -> Session | None:
    """The live session a browser's token stands for, else None (unknown, malformed, expired, logged out,
    or the account was removed or its password or role changed since)."""
    if not _well_formed(token):
        return None
    data_dir = Path(data_dir)
    now = time.time() if now is None else now
    entry = _sessions(data_dir)["sessions"].get(_token_hash(token))
    if not isinstance(entry, dict):
        return None
    try:
        session = Session(str(token), str(entry["name"]), str(entry["role"]), float(entry["expires"]),
                          str(entry.get("stamp", "")))
    except (KeyError, TypeError, ValueError):
        return None
    return session if check_session(session, now=now, data_dir=data_dir) is not None else None


def end_session(data_dir: str | Path, token: object) -> bool:
    """Log out: forget the session of `token` (its cookie is worth nothing from now on). True if it was kept."""
    if not _well_formed(token):
        return False
    data_dir = Path(data_dir)
    key = _token_hash(str(token))
    with _locked(data_dir):
        return _pop_session(data_dir, key)


def _pop_session(data_dir: Path, key: str) -> bool:
    store = _sessions(data_dir)
    if store["sessions"].pop(key, None) is None:
        return False
    store["handoffs"] = {k: v for k, v in store["handoffs"].items() if v.get("session") != key}
    _save_sessions(data_dir, store, time.time())
    return True


def end_user_sessions(data_dir: str | Path, name: str) -> int:
    """Log a user out everywhere; returns how many sessions ended."""
    data_dir = Path(data_dir)
    name = check_name(name)
    with _locked(data_dir):
        return _drop_sessions(data_dir, lambda e: e.get("name") == name)


def _pad(code: str) -> bytes:
    return hashlib.sha256(f"kb-handoff-key|{code}".encode()).digest()


def handoff(data_dir: str | Path, session: Session, now: float | None = None) -> str:
    """A one-time code (valid `HANDOFF_TTL` seconds) that the app's cookie route exchanges for the session's
    token. Kept as its hash, with the token encrypted under the code (never the token itself)."""
    data_dir = Path(data_dir)
    now = time.time() if now is None else now
    code = secrets.token_urlsafe(32)
    raw = session.token.encode("ascii")
    secret = bytes(a ^ b for a, b in zip(raw.ljust(64, b"\0"), _pad(code) + _pad(code + "|2"), strict=True))
    with _locked(data_dir):
        store = _sessions(data_dir)
        key = _token_hash(session.token)
        if key not in store["sessions"]:
            raise AccountError("ログインのセッションが見つかりません。もう一度ログインしてください。")
        store["handoffs"][hashlib.sha256(f"kb-handoff|{code}".encode()).hexdigest()] = {
            "session": key, "secret": _b64(secret), "expires": now + HANDOFF_TTL}
        _save_sessions(data_dir, store, now)
    return code


def redeem_handoff(data_dir: str | Path, code: object, now: float | None = None) -> Session | None:
    """The live session for a handoff code, once (the code is deleted); None when unknown, used or expired."""
    if not _well_formed(code):
        return None
    data_dir = Path(data_dir)
    now = time.time() if now is None else now
    with _locked(data_dir):
        store = _sessions(data_dir)
        entry = store["handoffs"].pop(hashlib.sha256(f"kb-handoff|{code}".encode()).hexdigest(), None)
        if entry is None:
            return None
        _save_sessions(data_dir, store, now)
    if not isinstance(entry, dict) or not float(entry.get("expires", 0)) > now:
        return None
    try:
        secret = base64.b64decode(entry["secret"])
        token = bytes(a ^ b for a, b in zip(secret, _pad(code) + _pad(code + "|2"), strict=True))
        token_s = token.rstrip(b"\0").decode("ascii")
    except (KeyError, TypeError, ValueError):
        return None
    session = resume_session(data_dir, token_s, now)
    return session if session is not None and _token_hash(token_s) == entry.get("session") else None


def cookie_max_age(session: Session, now: float | None = None) -> int:
    """Seconds the browser keeps the cookie: what is left of the session (at least 1)."""
    now = time.time() if now is None else now
    return max(1, int(session.expires_at - now))
