"""Citations, permalinks and recording links of one turn.

One place builds what a reader copies or follows for a turn, for the CLI (`kb search --json`, `kb show`),
the app (引用をコピー, ▶ h:mm:ss) and the CSV:

- `permalink`: the app's URL of the turn (`document?doc=…&seg=…`). A turn is named by its document id
  and its order, both taken from the kept source, so the URL survives `kb rebuild` and `kb import-archive`.
- `citation`: 「自治体DX研究会 2025年度 第4回（2025-12-16）ディスカッション 北条真琴 発言 — URL」, in the
  catalogue's names (`group`, the session's number and date), 会員限定 for members-only turns.
- `media_link`: the session's `recording:` (sessions.yaml) at the turn's subtitle time.

The catalogue is read from the data directory (`<data>/sessions.yaml`, kept by `kb index` and carried by
`kb export`), at search time: the index schema holds no recording.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from indexer.errors import KbError
from indexer.ingest.catalogue import CATALOGUE_NAME, Catalogue
from indexer.models import PART_LABELS, Document, Hit, Segment

#: Where the app is served when `$KB_BASE_URL` is not set (permalinks written outside the browser).
DEFAULT_BASE_URL = "http://127.0.0.1:8501"

#: Video sites whose player takes the start time as a query parameter (`?t=` / `&t=`), by host.
#: YouTube: `t=SECONDS` on watch, youtu.be, shorts and live URLs. ニコニコ動画: `from=SECONDS`.
QUERY_TIME = {"youtube.com": "t", "youtu.be": "t", "youtube-nocookie.com": "t", "nicovideo.jp": "from",
              "nico.ms": "from"}
#: Video sites whose page takes the start time in the fragment with a unit: Vimeo `#t=SECONDSs`.
FRAGMENT_TIME = {"vimeo.com": "s"}


def base_url() -> str:
    """The app's address for links that leave the browser: `$KB_BASE_URL`, else http://127.0.0.1:8501."""
    return (os.environ.get("KB_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")


def permalink(base: str, doc_id: str, order: int, query: str = "") -> str:
    """The app's URL of one turn in its document (the 文書 page, `doc` and `seg`, and the query marked).

    >>> permalink("http://127.0.0.1:8501/", "s06-qa", 3, "費用")
    'http://127.0.0.1:8501/document?doc=s06-qa&seg=3&q=%E8%B2%BB%E7%94%A8'
    """
    url = f"{base.rstrip('/')}/document?doc={_quoted(str(doc_id))}&seg={int(order)}"  # as urlencode gives it
    return f"{url}&q={quote_plus(query.strip(), safe='')}" if query.strip() else url


@functools.lru_cache(maxsize=1024)
def _quoted(doc_id: str) -> str:
    """A document id as a URL query value (remembered: a page of hits names few documents, often again)."""
    return quote_plus(doc_id, safe="")


def clock(seconds: float | None) -> str:
    """h:mm:ss of a subtitle time ("" without one).

    >>> clock(4431.6), clock(75), clock(None)
    ('1:13:51', '0:01:15', '')
    """
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _site(host: str, table: dict[str, str]) -> str | None:
    host = host.lower().split(":")[0]
    for domain, value in table.items():
        if host == domain or host.endswith("." + domain):
            return value
    return None


def media_link(recording: str, seconds: float | None) -> str:
    """The recording opened at `seconds`: `?t=` / `&t=` for YouTube (`from=` for ニコニコ動画), `#t=Ns` for
    Vimeo, `#t=N` (Media Fragments) for a media file or any other address. "" without a recording, a time,
    or when the recording is not an http(s) URL.

    >>> media_link("https://www.youtube.com/watch?v=abc", 4431.6)
    'https://www.youtube.com/watch?v=abc&t=4431'
    >>> media_link("https://youtu.be/abc", 75), media_link("https://example.org/s06.mp4", 75)
    ('https://youtu.be/abc?t=75', 'https://example.org/s06.mp4#t=75')
    """
    if not recording or seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    parts = urlsplit(recording.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    t = int(seconds)
    name = _site(parts.hostname or "", QUERY_TIME)
    if name is not None:
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
        query.append((name, str(t)))
        return urlunsplit(parts._replace(query=urlencode(query), fragment=""))
    unit = _site(parts.hostname or "", FRAGMENT_TIME)
    return urlunsplit(parts._replace(fragment=f"t={t}{unit or ''}"))


def citation(group: str, session: int | None, date: str, part: str, speaker: str, visibility: str,
             url: str, title: str = "") -> str:
    """A Japanese citation of one turn, in the catalogue's names.

    >>> citation("自治体DX研究会", 4, "2025-12-16", "discussion", "北条真琴", "members", "https://kb/x")
    '自治体DX研究会 第4回（2025-12-16）ディスカッション 北条真琴 発言（会員限定） — https://kb/x'
    >>> citation("", None, "2025-06-17", "report", "", "public", "https://kb/y", "第1回レポート")
    '2025-06-17 報告「第1回レポート」より — https://kb/y'
    """
    when = f"第{session}回（{date}）" if session is not None and date else (
        f"第{session}回" if session is not None else date)
    label = PART_LABELS.get(part, part) if part and part != "other" else ""
    who = f"{speaker} 発言" if speaker else (f"「{title}」より" if title else "")
    if visibility == "members":
        who += "（会員限定）"
    head = ""
    for piece in (group, when, label, who):
        if piece:  # a space between words, none after a closing bracket or before an opening one
            glue = "" if not head or head.endswith(("）", "」")) or piece.startswith("「") else " "
            head += glue + piece
    return f"{head} — {url}"


@dataclass(frozen=True)
class TurnLinks:
    """What one turn offers a reader: its permalink, its citation and its recording link ("" without)."""

    url: str
    cite: str
    media_url: str = ""
    media_time: str = ""  # h:mm:ss of the media link


_CACHE: dict[str, tuple[tuple, Catalogue]] = {}


def kept_catalogue(data_dir: str | Path) -> Catalogue:
    """The data directory's catalogue (`<data>/sessions.yaml`), read again only when the file changes;
    an empty one when there is none or it cannot be read."""
    path = Path(data_dir) / CATALOGUE_NAME
    try:
        st = path.stat()
        stamp: tuple = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        return Catalogue()
    cached = _CACHE.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        catalogue = Catalogue.load(path)
    except KbError:
        catalogue = Catalogue()
    _CACHE[str(path)] = (stamp, catalogue)
    return catalogue


class Citer:
    """Links and citations of turns, from one catalogue and the app's address.

    >>> c = Citer(Catalogue({"group": "研究会", "sessions": [{"number": 6, "date": "2026-03-10",
    ...     "recording": "https://youtu.be/x"}]}), "https://kb.example.jp")
    >>> c.links(6, "", "qa", "二階堂玲", "public", "s06-qa", 3, 4431.0).media_url
    'https://youtu.be/x?t=4431'
    """

    def __init__(self, catalogue: Catalogue, base: str | None = None):
        self.catalogue = catalogue
        self.base = (base if base is not None else base_url()).rstrip("/")
        self.group = catalogue.group or catalogue.association

    @classmethod
    def of(cls, data_dir: str | Path, base: str | None = None) -> Citer:
        """The citer of a data directory (its kept catalogue)."""
        return cls(kept_catalogue(data_dir), base)

    def recording(self, session: int | None) -> str:
        s = self.catalogue.session(session)
        return s.recording if s is not None else ""

    def links(self, session: int | None, date: str, part: str, speaker: str, visibility: str,
              doc_id: str, order: int, start: float | None, title: str = "") -> TurnLinks:
        known = self.catalogue.session(session)
        url = permalink(self.base, doc_id, order)
        cite = citation(self.group, session, (known.date if known and known.date else date), part, speaker,
                        visibility, url, title)
        media = media_link(self.recording(session), start)
        return TurnLinks(url, cite, media, clock(start) if media else "")

    def hit(self, hit: Hit) -> TurnLinks:
        return self.links(hit.session, hit.date, hit.part, hit.speaker, hit.visibility, hit.doc_id, hit.order,
                          hit.start, hit.title)

    def annotate(self, hits: list[Hit]) -> list[Hit]:
        """Fill each hit's `url`, `cite` and `media_url` (in place); returns the hits."""
        for h in hits:
            t = self.hit(h)
            h.url, h.cite, h.media_url = t.url, t.cite, t.media_url
        return hits

    def segment(self, doc: Document, seg: Segment) -> TurnLinks:
        return self.links(doc.session, doc.date, seg.part, seg.speaker, seg.visibility, doc.id, seg.order,
                          seg.start, doc.title)

    def document(self, doc: Document) -> dict[int, TurnLinks]:
        """Every turn of a document (as the role sees it): order → its links."""
        return {s.order: self.segment(doc, s) for s in doc.segments}
