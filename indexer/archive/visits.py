"""Visits (訪問): when an account's 「前回以降 N 件」 counts start, kept in `<data dir>/saved_searches.json`.

**The rule.** A visit is a run of page views with no pause longer than `VISIT_GAP` (30
minutes): the first page view after a longer pause, or of a login not seen before, starts a new visit
(going back and forth between two browsers already logged in does not).
When a visit starts, its *baseline* becomes the **start of the previous visit**, and it stays the
baseline for the whole visit: reloading the page, or coming back within the visit, does not reset the
「前回以降 N 件」 counts to zero. (The start rather than the end of the previous visit: a document added
while you were reading last time is counted again rather than never.) The first visit of an account
has itself as its baseline (nothing is "new" yet). `kb saved list` reads the baseline without visiting.

>>> import tempfile, pathlib
>>> from indexer.archive.accounts import add_user
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = add_user(d, "sato", "member", "correct horse")
>>> [record_visit(d, "sato", now=t) for t in (1000, 1600, 9000, 9300, 20000)]  # visits start at 1000, 9000, 20000
[1000.0, 1000.0, 1000.0, 1000.0, 9000.0]
"""

from __future__ import annotations

import time
from pathlib import Path

from indexer.archive import accounts
from indexer.archive.saved import account_name, read_store, write_store

VISIT_GAP = 30 * 60  # seconds of no page view after which the next one starts a new visit
MAX_LOGINS = 20  # login marks remembered (as many as an account's kept sessions)
QUIET = 60  # page views this close to the last one are not written down (a rerun per click)


def record_visit(data_dir: str | Path, user: str, now: float | None = None, login: str = "",
                 gap: float = VISIT_GAP) -> float:
    """A page view by `user` (`login`: an opaque mark of the login it belongs to); returns the baseline of
    the visit it belongs to (the start of the previous visit, see the module's docstring)."""
    data_dir = Path(data_dir)
    user = account_name(data_dir, user)
    now = time.time() if now is None else float(now)
    with accounts._locked(data_dir):  # noqa: SLF001
        store = read_store(data_dir)
        entry = store["users"].setdefault(user, {})
        v = entry.get("visit") if isinstance(entry.get("visit"), dict) else {}
        logins = [str(x) for x in v.get("logins") or [] if isinstance(x, str)]
        try:
            start, seen, base = float(v["start"]), float(v["seen"]), float(v["baseline"])
        except (KeyError, TypeError, ValueError):
            start = seen = base = now  # the first visit: nothing is new yet
        else:
            if now - seen > gap or (login and login not in logins):
                base, start = start, now
            elif 0 <= now - seen < QUIET:
                return base  # the same visit, seen a moment ago: nothing to write
        if login and login not in logins:  # logins seen lately (two browsers at once are one visit, not a flip-flop)
            logins = [*logins, login][-MAX_LOGINS:]
        entry["visit"] = {"start": start, "seen": max(seen, now), "baseline": base, "logins": logins}
        write_store(data_dir, store)
    return base


def visit_baseline(data_dir: str | Path, user: str) -> float | None:
    """The baseline of the account's current (or last) visit, without visiting; None before any visit."""
    data_dir = Path(data_dir)
    entry = read_store(data_dir)["users"].get(account_name(data_dir, user)) or {}
    try:
        return float((entry.get("visit") or {})["baseline"])
    except (KeyError, TypeError, ValueError):
        return None
