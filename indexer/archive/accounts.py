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

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> add_user(d, "sato", "member", "correct horse")
Account(name='sato', role='member')
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
FAILURES_FILE = "login_failures.json"
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
    """[{name, role, created, updated}] sorted by name (never the hashes)."""
    users = _users(Path(data_dir))
    return [{"name": n, "role": u.get("role", ""), "created": u.get("created", ""), "updated": u.get("updated", "")}
            for n, u in sorted(users.items())]


def get_account(data_dir: str | Path, name: str) -> Account | None:
    try:
        name = check_name(name)
    except AccountError:
        return None
    u = _users(Path(data_dir)).get(name)
    return Account(name, u["role"]) if u and u.get("role") in ACCOUNT_ROLES else None


def add_user(data_dir: str | Path, name: str, role: str, password: str) -> Account:
    data_dir = Path(data_dir)
    name, role = check_name(name), check_role(role)
    hashed = hash_password(password)
    with _locked(data_dir):
        users = _users(data_dir)
        if name in users:
            raise AccountError(f"ユーザー「{name}」は既に登録されています。")
        now = _now_iso()
        users[name] = {"role": role, "hash": hashed, "created": now, "updated": now}
        _save_users(data_dir, users)
    return Account(name, role)


def remove_user(data_dir: str | Path, name: str) -> None:
    data_dir = Path(data_dir)
    name = check_name(name)
    with _locked(data_dir):
        users = _users(data_dir)
        if users.pop(name, None) is None:
            raise AccountError(f"ユーザー「{name}」は登録されていません。")
        _save_users(data_dir, users)


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
    return Account(key, entry["role"])


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
    return Account(session.name, session.role)
