"""Shared plumbing of the pages: the role, the index (opened once per process) and cached calls.

The role comes only from the login: `current_role()` defers to `auth.current_role()` (a valid,
unexpired session in `st.session_state["auth"]`, else "public"). No widget, URL or query parameter
sets it; pages read it only through `current_role()`.

Library calls are cached with `st.cache_data`. The wrappers below take domain arguments only (the query,
a `Filters`, the role, ...); each computes `cache_key()` itself — the index (path, generation, directory
identity), the data directory and the synonym dictionary's content — and passes it to an inner cached
function. So a rerun that does not change the query re-tokenizes nothing, while a commit, a rebuild that
swaps the directory, or a saved synonym dictionary is seen by the very next search.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import auth
import streamlit as st

from indexer import Filters, Index, KbError, KnowledgeBase
from indexer.archive.datadir import DataDir
from indexer.ingest import withdrawals
from indexer.models import ROLES, Document, SearchResult
from indexer.search import browse, followup_links
from indexer.search.cite import Citer
from indexer.search.synonyms import SYNONYMS_FILE

#: The app's address, for links that leave the browser (the CSV's link column): `KB_BASE_URL`.
DEFAULT_BASE_URL = "http://127.0.0.1:8501"
NO_FILTERS = Filters()

PAGES = {
    "search": "views/search.py",
    "document": "views/document.py",
    "qa": "views/qa.py",
    "speakers": "views/speakers.py",
    "trend": "views/trend.py",
    "admin": "views/admin.py",
    "login": "views/login.py",
    "not_found": "views/not_found.py",
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
    """The knowledge base of the data directory (its synonym dictionary applies)."""
    return KnowledgeBase(get_index(), data_dir=data_dir())


def base_url() -> str:
    """Where the app is served, for permalinks outside the page: `$KB_BASE_URL`, else http://127.0.0.1:8501."""
    return (os.environ.get("KB_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")


def turn_links(doc: Document) -> dict:
    """order → each turn's permalink, citation and recording link (`cite.TurnLinks`), on `base_url()`."""
    return Citer.of(data_dir(), base_url()).document(doc)


def index_version(index: Index) -> tuple:
    """Changes with every commit and with a rebuild that swaps the index directory."""
    st_ = os.stat(index.path)
    return index.ix.latest_generation(), st_.st_ino, st_.st_mtime_ns


def version() -> tuple:
    return index_version(get_index())


def synonyms_stamp() -> str:
    """The synonym dictionary's content hash ("" without one): a saved dictionary is a new cache key."""
    try:
        return hashlib.sha256((data_dir() / SYNONYMS_FILE).read_bytes()).hexdigest()
    except OSError:
        return ""


def followups_stamp() -> tuple:
    """When the follow-up links were last written (they follow an index commit, within its transaction)."""
    try:
        st_ = (data_dir() / followup_links.FILE_NAME).stat()
        return st_.st_mtime_ns, st_.st_size
    except OSError:
        return ()


def cache_key() -> tuple:
    """Everything a cached result depends on besides the call's own arguments."""
    return index_path(), version(), str(data_dir()), synonyms_stamp(), followups_stamp()


def forget_caches() -> None:
    """After an admin change: drop cached results (and the Index, whose directory may be new)."""
    st.cache_data.clear()
    open_index.clear()


def _kb(key: tuple) -> KnowledgeBase:
    path, _version, data, *_stamps = key
    return KnowledgeBase(open_index(path), data_dir=data)


# -- cached library calls: domain arguments only; the key is computed here --------------------------
def search(q: str, filters: Filters = NO_FILTERS, *, role: str, page: int = 1, size: int = 10,
           sort: str = "relevance") -> SearchResult:
    return _search(cache_key(), q, filters, role, page, size, sort)


@st.cache_data(show_spinner=False, max_entries=512)
def _search(key: tuple, q: str, filters: Filters, role: str, page: int, size: int, sort: str) -> SearchResult:
    return _kb(key).search(q, filters, role=role, page=page, page_size=size, sort=sort)


def stats(role: str) -> dict:
    return _stats(cache_key(), role)


@st.cache_data(show_spinner=False, max_entries=64)
def _stats(key: tuple, role: str) -> dict:
    return _kb(key).stats(role)


def sessions(role: str) -> list[browse.SessionInfo]:
    """The sessions the role can see, with their titles (none when the index cannot be read)."""
    try:
        return _sessions(cache_key(), role)
    except KbError:
        return []


@st.cache_data(show_spinner=False, max_entries=16)
def _sessions(key: tuple, role: str) -> list[browse.SessionInfo]:
    return browse.sessions(_kb(key), role)


def known_sessions(role: str) -> list[int]:
    """Session numbers the role can see (none when the index cannot be read)."""
    return [s.number for s in sessions(role)]


def related(hit_id: str, *, role: str, k: int = 5):
    return _related(cache_key(), hit_id, role, k)


@st.cache_data(show_spinner=False, max_entries=256)
def _related(key: tuple, hit_id: str, role: str, k: int):
    return browse.related(_kb(key), hit_id, role, k)


def qa_pairs(*, role: str, answerer: str = "", session: int | None = None, query: str = "") -> list[browse.QAPair]:
    return _qa_pairs(cache_key(), role, answerer, session, query)


@st.cache_data(show_spinner=False, max_entries=128)
def _qa_pairs(key: tuple, role: str, answerer: str, session: int | None, query: str):
    return browse.qa_pairs(_kb(key), role, answerer or None, session, query or None)


def speakers(role: str):
    return _speakers(cache_key(), role)


@st.cache_data(show_spinner=False, max_entries=16)
def _speakers(key: tuple, role: str):
    return browse.speakers(_kb(key), role)


def trend(q: str, *, role: str):
    return _trend(cache_key(), q, role)


@st.cache_data(show_spinner=False, max_entries=128)
def _trend(key: tuple, q: str, role: str):
    return browse.trend(_kb(key), q, role)


def documents(role: str):
    return _documents(cache_key(), role)


@st.cache_data(show_spinner=False, max_entries=16)
def _documents(key: tuple, role: str):
    return browse.documents(_kb(key), role)


def document(doc_id: str, *, role: str) -> Document | None:
    return _document(cache_key(), doc_id, role)


def withdrawn(doc_id: str, *, role: str) -> dict:
    """A document's withdrawn remarks by turn order, for the secretariat only (everyone else: {}; the text
    they are shown already says 「（発言取り消し）」)."""
    if role != "secretariat":
        return {}
    return withdrawals.of_document(withdrawals.load(data_dir()), doc_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _document(key: tuple, doc_id: str, role: str) -> Document | None:
    return _kb(key).document(doc_id, role)


def followups_of(doc: Document, *, role: str) -> dict:
    """order → the turns of other sessions on the same topic (ほかの回でも) that the role may see."""
    return _followups(cache_key(), doc.id, role)


@st.cache_data(show_spinner=False, max_entries=64)
def _followups(key: tuple, doc_id: str, role: str) -> dict:
    kb = _kb(key)
    doc = kb.document(doc_id, role)
    return followup_links.for_document(kb, doc, role) if doc is not None else {}


def copies_in_session(doc: Document, *, role: str) -> dict:
    """order → the same turn in the session's other documents (subtitles and transcript)."""
    return _copies(cache_key(), doc.id, role)


@st.cache_data(show_spinner=False, max_entries=64)
def _copies(key: tuple, doc_id: str, role: str) -> dict:
    kb = _kb(key)
    doc = kb.document(doc_id, role)
    return browse.copies_in_session(kb, doc, role) if doc is not None else {}


def matching_turns(doc: Document, query: str, *, role: str) -> list[int]:
    """Orders of the document's turns that the query finds (the next/previous hit), in document order."""
    return _matching_turns(cache_key(), doc.id, query, role) if query.strip() else []


@st.cache_data(show_spinner=False, max_entries=64)
def _matching_turns(key: tuple, doc_id: str, query: str, role: str) -> list[int]:
    kb = _kb(key)
    doc = kb.document(doc_id, role)
    return browse.matching_turns(kb, doc, query, role) if doc is not None else []


def results_csv(q: str, filters: Filters = NO_FILTERS, *, role: str, sort: str = "relevance") -> bytes:
    """Every hit as CSV (UTF-8 with BOM, so spreadsheets read the Japanese), links on `base_url()`."""
    return browse.results_csv(kb(), q, filters, role, sort, base_url=base_url()).encode("utf-8-sig")


def requested_page_name() -> str:
    """The page part of the URL the browser asked for ("" for the main page), from `st.context.url`, without
    the server's base path (`server.baseUrlPath`); "" when it has more than one part (Streamlit serves none)."""
    path = unquote(urlparse(st.context.url or "").path).strip("/")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].strip("/")
    return "" if "/" in path else path


def not_found_pages(pages: list) -> list:
    """A hidden ページが見つかりません page at the asked URL when no page of `pages` has it (Streamlit would
    otherwise run the main page under an English "Page not found" dialog)."""
    name = requested_page_name()
    if not name or name in {p.url_path for p in pages}:
        return []
    return [st.Page(PAGES["not_found"], title="ページが見つかりません", url_path=name, visibility="hidden")]


def enter_page(name: str) -> bool:
    """True on the first run of a page since another page (or none) was shown: load its URL state."""
    entered = st.session_state.get("_kb_view") != name
    st.session_state["_kb_view"] = name
    return entered
