"""Shared plumbing of the pages: the role, the index (opened once per process) and cached calls.

The role comes only from the login: `current_role()` defers to `auth.current_role()` (a valid,
unexpired session in `st.session_state["auth"]`, else "public"). No widget, URL or query parameter
sets it; pages read it only through `current_role()`.

Library calls are cached with `st.cache_data` keyed on the index version (generation, directory
identity), so a rerun that does not change the query re-tokenizes nothing, and a commit (or a
rebuild that swaps the directory) is seen at once.
"""

from __future__ import annotations

import os
from pathlib import Path

import auth
import streamlit as st

from indexer import Filters, Index, KbError, KnowledgeBase
from indexer.archive.datadir import DataDir
from indexer.models import ROLES
from indexer.search import browse

PAGES = {
    "search": "views/search.py",
    "document": "views/document.py",
    "qa": "views/qa.py",
    "speakers": "views/speakers.py",
    "trend": "views/trend.py",
    "admin": "views/admin.py",
    "login": "views/login.py",
}


def current_role() -> str:
    """The viewer's role: the logged-in account's, "public" without a valid, unexpired session."""
    role = auth.current_role()
    return role if role in ROLES else "public"


def current_actor() -> str:
    """The logged-in account's name (for the audit log); "" when nobody is logged in."""
    account = auth.current_account()
    return account.name if account else ""


@st.cache_resource(show_spinner=False)
def open_index(path: str) -> Index:
    """One Index per process and path (each search opens a fresh searcher, so new commits show)."""
    return Index(path)


def data() -> DataDir:
    """The data directory (absolute): `$KB_DATA` / `$KB_INDEX` as `kb serve` sets them, else `.kb`."""
    return DataDir.resolve().resolved()


def index_path() -> str:
    return str(data().index)


def get_index() -> Index:
    return open_index(index_path())


def data_dir() -> Path:
    """The data directory's folder (accounts, audit log, uploads), whether or not its index opens."""
    return data().root


def kb() -> KnowledgeBase:
    return KnowledgeBase(get_index())


def index_version(index: Index) -> tuple:
    """Changes with every commit and with a rebuild that swaps the index directory."""
    st_ = os.stat(index.path)
    return index.ix.latest_generation(), st_.st_ino, st_.st_mtime_ns


def version() -> tuple:
    return index_version(get_index())


def forget_caches() -> None:
    """After an admin change: drop cached results (and the Index, whose directory may be new)."""
    st.cache_data.clear()
    open_index.clear()


# -- cached library calls (the first two arguments only key the cache) ------------------------------
@st.cache_data(show_spinner=False, max_entries=512)
def search(path: str, ver: tuple, q: str, filters: tuple, role: str, page: int, size: int, sort: str):
    return KnowledgeBase(open_index(path)).search(q, Filters(*filters), role=role, page=page,
                                                  page_size=size, sort=sort)


@st.cache_data(show_spinner=False, max_entries=64)
def stats(path: str, ver: tuple, role: str) -> dict:
    return KnowledgeBase(open_index(path)).stats(role)


def known_sessions(role: str) -> list[int]:
    """Session numbers the role can see (none when the index cannot be read)."""
    try:
        return [int(s) for s in stats(index_path(), version(), role)["sessions"] if str(s).isdigit()]
    except KbError:
        return []


@st.cache_data(show_spinner=False, max_entries=256)
def related(path: str, ver: tuple, hit_id: str, role: str, k: int = 5):
    return browse.related(KnowledgeBase(open_index(path)), hit_id, role, k)


@st.cache_data(show_spinner=False, max_entries=128)
def qa_pairs(path: str, ver: tuple, role: str, answerer: str, session: int | None, query: str):
    return browse.qa_pairs(KnowledgeBase(open_index(path)), role, answerer or None, session, query or None)


@st.cache_data(show_spinner=False, max_entries=16)
def speakers(path: str, ver: tuple, role: str):
    return browse.speakers(KnowledgeBase(open_index(path)), role)


@st.cache_data(show_spinner=False, max_entries=128)
def trend(path: str, ver: tuple, q: str, role: str):
    return browse.trend(KnowledgeBase(open_index(path)), q, role)


@st.cache_data(show_spinner=False, max_entries=16)
def documents(path: str, ver: tuple, role: str):
    return browse.documents(KnowledgeBase(open_index(path)), role)


def filters_tuple(f: Filters) -> tuple:
    return (tuple(f.sessions), f.date_from, f.date_to, f.doc_type, f.speaker, f.speaker_role, f.part)


def enter_page(name: str) -> bool:
    """True on the first run of a page since another page (or none) was shown: load its URL state."""
    entered = st.session_state.get("_kb_view") != name
    st.session_state["_kb_view"] = name
    return entered
