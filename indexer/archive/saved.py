"""Saved searches (保存した検索), per account, in `<data dir>/saved_searches.json`.

A logged-in account (member or secretariat) keeps searches by name: the query and the filters. The file
is written atomically (0600) under the accounts' lock, like users.json and sessions.json. Removing an
account removes its entry (`accounts.remove_user`).

The last visit, which the 「前回以降 N 件」 counts start from, is `visits.py`'s.

>>> import tempfile, pathlib
>>> from indexer.archive.accounts import add_user
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = add_user(d, "sato", "member", "correct horse")
>>> add_search(d, "sato", "内製化", {"sessions": [2]}).name
'内製化'
>>> [s.query for s in list_searches(d, "sato")]
['内製化']
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from indexer.archive import accounts
from indexer.errors import KbError
from indexer.models import DOC_TYPES, PARTS
from indexer.search.kb import Filters
from indexer.search.query import parse_query

SAVED_FILE = accounts.SAVED_FILE
MAX_SAVED = 100  # searches per account
MAX_QUERY = 500
MAX_LABEL = 100
FILTER_KEYS = ("sessions", "date_from", "date_to", "doc_type", "speaker", "speaker_role", "part")


class SavedSearchError(KbError):
    """A saved-search operation failed (unknown user, duplicate name, empty query ...)."""


@dataclass(frozen=True)
class SavedSearch:
    """One saved search: `id` (a number as text, stable), its name, the query and the filters."""

    id: str
    name: str
    query: str
    filters: dict = field(default_factory=dict)
    created: str = ""

    def to_filters(self) -> Filters:
        """The search's filters as `KnowledgeBase.search` takes them."""
        return Filters(**{k: (tuple(v) if k == "sessions" else v) for k, v in self.filters.items()
                          if k in FILTER_KEYS})

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "query": self.query, "filters": dict(self.filters),
                "created": self.created}


def read_store(data_dir: Path) -> dict:
    data = accounts._read_json(data_dir / SAVED_FILE, {})  # noqa: SLF001 - the accounts' own file helpers
    users = data.get("users")
    return {"version": 1, "users": users if isinstance(users, dict) else {}}


def write_store(data_dir: Path, store: dict) -> None:
    accounts._write_json(data_dir / SAVED_FILE, store)  # noqa: SLF001


def account_name(data_dir: Path, name: str) -> str:
    """The account's NFKC name; SavedSearchError when there is no such account (a public visitor has none)."""
    try:
        name = accounts.check_name(name)
    except accounts.AccountError as e:
        raise SavedSearchError(str(e)) from None
    if accounts.get_account(data_dir, name) is None:
        raise SavedSearchError(f"ユーザー「{name}」は登録されていません（検索を保存できるのはログインしたアカウントだけです）。")
    return name


def _searches(store: dict, name: str) -> list[dict]:
    entry = store["users"].get(name)
    found = entry.get("searches") if isinstance(entry, dict) else None
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def _of(entry: dict) -> SavedSearch:
    return SavedSearch(str(entry.get("id", "")), str(entry.get("name", "")), str(entry.get("query", "")),
                       dict(entry.get("filters") or {}), str(entry.get("created", "")))


def clean_filters(filters: dict | Filters | None) -> dict:
    """The filters worth keeping (empty values left out), checked; SavedSearchError for a bad value.

    >>> clean_filters({"sessions": [3, 1], "speaker": " 北条 ", "part": ""})
    {'sessions': [1, 3], 'speaker': '北条'}
    """
    if isinstance(filters, Filters):
        filters = {k: getattr(filters, k) for k in FILTER_KEYS}
    out: dict = {}
    for k, v in (filters or {}).items():
        if k not in FILTER_KEYS:
            raise SavedSearchError(f"保存できない絞り込みです: {k}")
        if k == "sessions":
            try:
                nums = sorted({int(x) for x in v or ()})
            except (TypeError, ValueError):
                raise SavedSearchError(f"回の指定は数字で入力してください: {v}") from None
            if nums:
                out[k] = nums
        elif isinstance(v, str) and v.strip():
            out[k] = v.strip()
    if out.get("doc_type", "") not in ("", *DOC_TYPES):
        raise SavedSearchError(f"種類は {' / '.join(DOC_TYPES)} のいずれかです: {out['doc_type']}")
    if out.get("part", "") not in ("", *PARTS):
        raise SavedSearchError(f"パートは {' / '.join(PARTS)} のいずれかです: {out['part']}")
    try:
        Filters(**{k: tuple(v) if k == "sessions" else v for k, v in out.items()}).check()
    except KbError as e:
        raise SavedSearchError(str(e)) from None
    return out


def _label(text: str) -> str:
    label = " ".join(unicodedata.normalize("NFKC", text or "").split())
    if not label:
        raise SavedSearchError("保存する検索の名前が空です。")
    if len(label) > MAX_LABEL:
        raise SavedSearchError(f"保存する検索の名前は {MAX_LABEL} 文字以内にしてください。")
    return label


def _query(text: str) -> str:
    q = (text or "").strip()
    if not q:
        raise SavedSearchError("検索語が空です。保存する検索語を入力してください。")
    if len(q) > MAX_QUERY:
        raise SavedSearchError(f"検索語は {MAX_QUERY} 文字以内にしてください。")
    if parse_query(q).empty:
        raise SavedSearchError(f"この検索語では検索できません（探す語がありません）: {q}")
    return q


def add_search(data_dir: str | Path, user: str, query: str, filters: dict | Filters | None = None,
               name: str = "") -> SavedSearch:
    """Save a search for `user` (its name defaults to the query). Names are unique per account."""
    data_dir = Path(data_dir)
    user, query, kept = account_name(data_dir, user), _query(query), clean_filters(filters)
    label = _label(name or query)
    with accounts._locked(data_dir):  # noqa: SLF001
        store = read_store(data_dir)
        mine = _searches(store, user)
        if any(s.get("name") == label for s in mine):
            raise SavedSearchError(f"「{label}」という名前の保存した検索は既にあります。別の名前を付けてください。")
        if len(mine) >= MAX_SAVED:
            raise SavedSearchError(f"保存できる検索は {MAX_SAVED} 件までです。不要なものを削除してください。")
        next_id = max((int(s["id"]) for s in mine if str(s.get("id", "")).isdigit()), default=0) + 1
        entry = {"id": str(next_id), "name": label, "query": query, "filters": kept,
                 "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        store["users"].setdefault(user, {})["searches"] = [*mine, entry]
        write_store(data_dir, store)
    return _of(entry)


def list_searches(data_dir: str | Path, user: str) -> list[SavedSearch]:
    """The account's saved searches, in the order they were saved."""
    data_dir = Path(data_dir)
    return [_of(s) for s in _searches(read_store(data_dir), account_name(data_dir, user))]


def _find(mine: list[dict], key: str) -> int:
    key = unicodedata.normalize("NFKC", str(key)).strip()
    for i, s in enumerate(mine):
        if str(s.get("id")) == key:
            return i
    for i, s in enumerate(mine):
        if s.get("name") == " ".join(key.split()):
            return i
    raise SavedSearchError(f"保存した検索「{key}」は見つかりません（`kb saved list` で番号と名前を確かめてください）。")


def remove_search(data_dir: str | Path, user: str, key: str) -> SavedSearch:
    """Delete one saved search, by its id or its name; returns it."""
    data_dir = Path(data_dir)
    user = account_name(data_dir, user)
    with accounts._locked(data_dir):  # noqa: SLF001
        store = read_store(data_dir)
        mine = _searches(store, user)
        gone = mine.pop(_find(mine, key))
        store["users"].setdefault(user, {})["searches"] = mine
        write_store(data_dir, store)
    return _of(gone)


def rename_search(data_dir: str | Path, user: str, key: str, new_name: str) -> SavedSearch:
    """Give a saved search another name (unique per account)."""
    data_dir = Path(data_dir)
    user, label = account_name(data_dir, user), _label(new_name)
    with accounts._locked(data_dir):  # noqa: SLF001
        store = read_store(data_dir)
        mine = _searches(store, user)
        i = _find(mine, key)
        if any(s.get("name") == label for j, s in enumerate(mine) if j != i):
            raise SavedSearchError(f"「{label}」という名前の保存した検索は既にあります。別の名前を付けてください。")
        mine[i] = {**mine[i], "name": label}
        store["users"].setdefault(user, {})["searches"] = mine
        write_store(data_dir, store)
    return _of(mine[i])


def merge_archived(data_dir: str | Path, archived: dict) -> int:
    """After `kb import-archive`: add the archive's saved searches (and visits) that the data directory does
    not have (a name already saved is kept as it is here); returns how many searches were added."""
    data_dir = Path(data_dir)
    users = archived.get("users") if isinstance(archived, dict) else None
    added = 0
    with accounts._locked(data_dir):  # noqa: SLF001
        store = read_store(data_dir)
        for user, theirs in (users if isinstance(users, dict) else {}).items():
            if not isinstance(theirs, dict):
                continue
            entry = store["users"].setdefault(str(user), {})
            mine = _searches(store, str(user))
            names = {s.get("name") for s in mine}
            next_id = max((int(s["id"]) for s in mine if str(s.get("id", "")).isdigit()), default=0) + 1
            for s in _searches({"users": {"u": theirs}}, "u"):
                if s.get("name") not in names and len(mine) < MAX_SAVED:
                    mine.append({**s, "id": str(next_id)})
                    names.add(s.get("name"))
                    next_id, added = next_id + 1, added + 1
            entry["searches"] = mine
            if "visit" not in entry and isinstance(theirs.get("visit"), dict):
                entry["visit"] = theirs["visit"]
        write_store(data_dir, store)
    return added
