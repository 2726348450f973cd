"""Presentational helpers for the Streamlit page: URL state, labels and escaped HTML.

Nothing here searches: hits and documents come from `indexer`; this module only turns them into
text and HTML. Every value placed into HTML is escaped here, except `Hit.snippet`, which the
library has already escaped (with `<mark>` around the matches).

>>> fmt_time(754.2), fmt_time(3723), fmt_time(None)
('12:34', '1:02:03', '')
>>> md_escape("**太字** <b>")
'\\\\*\\\\*太字\\\\*\\\\* \\\\<b\\\\>'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

from indexer.models import PART_LABELS, TYPE_LABELS, VISIBILITY_LABELS
from indexer.search.kb import KnowledgeBase

ROLE_LABELS = {"public": "公開", "member": "会員", "secretariat": "事務局"}
SORT_LABELS = {"relevance": "関連度順", "date": "新しい順", "date_asc": "古い順"}
PAGE_SIZES = (10, 20, 50)
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&])")


@dataclass
class ViewState:
    """What the page shows; round-trips through the URL query string."""

    q: str = ""
    page: int = 1
    doc: str = ""
    seg: int | None = None
    sessions: list[int] = field(default_factory=list)
    date_from: str = ""
    date_to: str = ""
    doc_type: str = ""
    speaker: str = ""
    part: str = ""
    sort: str = "relevance"
    size: int = PAGE_SIZES[0]
    rel: str = ""


def _int(value: str, default: int | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def state_from_params(params: dict[str, str]) -> ViewState:
    """A ViewState from URL query parameters; unknown or malformed values fall back to defaults.

    >>> s = state_from_params({"q": "内製化", "page": "2", "session": "1,x,4", "type": "memo"})
    >>> (s.q, s.page, s.sessions, s.doc_type)
    ('内製化', 2, [1, 4], '')
    """
    get = lambda k: str(params.get(k, "") or "")  # noqa: E731
    sessions = [n for n in (_int(v, None) for v in get("session").split(",") if v.strip()) if n is not None]
    size = _int(get("size"), PAGE_SIZES[0])
    return ViewState(
        q=get("q")[:1000],
        page=max(1, _int(get("page"), 1) or 1),
        doc=get("doc"),
        seg=_int(get("seg"), None) if get("seg") else None,
        sessions=sorted(set(sessions)),
        date_from=get("from") if DATE_RE.fullmatch(get("from")) else "",
        date_to=get("to") if DATE_RE.fullmatch(get("to")) else "",
        doc_type=get("type") if get("type") in TYPE_LABELS else "",
        speaker=get("speaker")[:100],
        part=get("part") if get("part") in PART_LABELS else "",
        sort=get("sort") if get("sort") in SORT_LABELS else "relevance",
        size=size if size in PAGE_SIZES else PAGE_SIZES[0],
        rel=get("rel")[:200],
    )


def params_from_state(s: ViewState) -> dict[str, str]:
    """URL query parameters for a ViewState (defaults left out, so URLs stay short).

    >>> params_from_state(ViewState(q="内製化", sessions=[1, 4], page=2))
    {'q': '内製化', 'page': '2', 'session': '1,4'}
    """
    out = {
        "q": s.q,
        "page": str(s.page) if s.page > 1 else "",
        "doc": s.doc,
        "seg": str(s.seg) if s.doc and s.seg is not None else "",
        "session": ",".join(str(n) for n in s.sessions),
        "from": s.date_from,
        "to": s.date_to,
        "type": s.doc_type,
        "speaker": s.speaker,
        "part": s.part,
        "sort": s.sort if s.sort != "relevance" else "",
        "size": str(s.size) if s.size != PAGE_SIZES[0] else "",
        "rel": s.rel if not s.doc else "",
    }
    return {k: v for k, v in out.items() if v}


def fmt_time(seconds: float | None) -> str:
    """mm:ss (h:mm:ss from one hour on); empty when there is no timestamp."""
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def md_escape(text: str) -> str:
    """Backslash-escape Markdown (and HTML) syntax so st.error/st.info show `text` literally."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def session_label(session: int | str | None) -> str:
    return f"第{session}回" if session not in (None, "") else "回不明"


def speaker_label(name: str, role: str) -> str:
    if name and role:
        return f"{name}（{role}）"
    return name or role


def seg_anchor(order: int) -> str:
    return f"seg-{int(order):04d}"


CSS = """<style>
.kb-meta { color: #555; font-size: 0.9rem; margin-bottom: 0.2rem; }
.kb-title { font-weight: 600; }
.kb-badge { display: inline-block; background: #b3261e; color: #fff; border-radius: 0.3rem;
  padding: 0 0.4rem; font-size: 0.8rem; margin-left: 0.4rem; }
.kb-snippet mark, .kb-turn mark { background: #ffe066; padding: 0 0.1rem; }
.kb-turn { padding: 0.4rem 0.6rem; margin: 0.3rem 0; border-left: 3px solid #ddd; }
.kb-turn.kb-hit { border-left: 5px solid #f08c00; background: #fff4e0; }
.kb-who { font-weight: 600; font-size: 0.9rem; }
.kb-text { white-space: pre-wrap; }
.kb-part { margin-top: 1rem; font-weight: 700; border-bottom: 1px solid #ccc; }
.kb-facets ul { margin: 0 0 0.5rem 1rem; padding: 0; }
.kb-qa { font-size: 0.85rem; margin-top: 0.2rem; }
.kb-table { border-collapse: collapse; font-size: 0.9rem; }
.kb-table th, .kb-table td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: left; }
</style>"""


def badge(visibility: str) -> str:
    return f'<span class="kb-badge">{escape(VISIBILITY_LABELS["members"])}</span>' if visibility == "members" else ""


def hit_header_html(hit) -> str:
    """Session, date, speaker, part, title and badge of a hit, escaped."""
    bits = [session_label(hit.session), hit.date, speaker_label(hit.speaker, hit.speaker_role),
            PART_LABELS.get(hit.part, hit.part), TYPE_LABELS.get(hit.doc_type, hit.doc_type)]
    when = fmt_time(hit.start)
    if when:
        bits.append(when)
    meta = " ・ ".join(escape(b) for b in bits if b)
    return (f'<div class="kb-meta">{meta}{badge(hit.visibility)}</div>'
            f'<div class="kb-title">{escape(hit.title or hit.doc_id)}</div>')


def snippet_html(hit) -> str:
    """The library's snippet (already escaped, `<mark>` only) in a container."""
    return f'<div class="kb-snippet">{hit.snippet}</div>'


def facets_html(facets: dict[str, dict[str, int]], limit: int = 15) -> str:
    """Facet counts as escaped HTML lists."""
    groups = [
        ("回ごとの件数", "session", session_label),
        ("話者ごとの件数", "speaker", lambda v: v),
        ("種類", "doc_type", lambda v: TYPE_LABELS.get(v, v)),
        ("パート", "part", lambda v: PART_LABELS.get(v, v)),
    ]
    out = ['<div class="kb-facets">']
    for heading, key, label in groups:
        counts = facets.get(key) or {}
        if not counts:
            continue
        items = list(counts.items())
        if key == "session":
            items.sort(key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0)
        shown = "".join(f"<li>{escape(str(label(v)))}: {int(n)} 件</li>" for v, n in items[:limit])
        more = f"<li>ほか {len(items) - limit} 件</li>" if len(items) > limit else ""
        out.append(f"<div><b>{escape(heading)}</b><ul>{shown}{more}</ul></div>")
    out.append("</div>")
    return "".join(out)


def turn_html(seg, hit_order: int | None, query: str, links: str = "") -> str:
    """One speaker turn: label, timestamp, escaped text; the hit turn highlighted and marked.

    `links` is HTML built by `qa_links_html` (already escaped)."""
    is_hit = hit_order is not None and seg.order == hit_order
    who = escape(speaker_label(seg.speaker, seg.speaker_role))
    when = fmt_time(seg.start)
    meta = " ・ ".join(b for b in (("▶ この発言" if is_hit else ""), who, escape(when)) if b)
    meta += badge(seg.visibility)
    body = KnowledgeBase.highlight(seg.text, query) if is_hit and query.strip() else escape(seg.text)
    cls = "kb-turn kb-hit" if is_hit else "kb-turn"
    head = f'<div class="kb-who">{meta}</div>' if meta else ""
    return (f'<div class="{cls}" id="{seg_anchor(seg.order)}">{head}<div class="kb-text">{body}</div>'
            f'{links}</div>')


def document_header_html(doc) -> str:
    bits = [session_label(doc.session), doc.date, TYPE_LABELS.get(doc.type, doc.type),
            f"発言 {len(doc.segments)} 件"]
    meta = " ・ ".join(escape(b) for b in bits if b)
    return (f'<div class="kb-title" style="font-size:1.3rem">{escape(doc.title or doc.id)}</div>'
            f'<div class="kb-meta">{meta}{badge(doc.visibility)}</div>')


def qa_links_html(seg, links) -> str:
    """In-page links from a question to its answers, or from an answer to its question."""
    if links.question is not None:
        q = links.question
        return (f'<div class="kb-qa">↩ <a href="#{seg_anchor(q.order)}">質問を見る：'
                f'{escape(speaker_label(q.speaker, q.speaker_role) or "質問")}</a></div>')
    if links.answers:
        items = "・".join(f'<a href="#{seg_anchor(a.order)}">{escape(speaker_label(a.speaker, a.speaker_role) or "回答")}'
                         f'</a>' for a in links.answers)
        return f'<div class="kb-qa">↪ 回答を見る：{items}</div>'
    return ""


def document_body_html(doc, hit_order: int | None, query: str, links: dict | None = None) -> str:
    """Every turn of a document in order, with a heading where the part changes.

    `links` maps a turn's order to its `QALinks` (questions ↔ answers)."""
    out, part = [], None
    links = links or {}
    for seg in doc.segments:
        if seg.part != part:
            part = seg.part
            out.append(f'<div class="kb-part">{escape(PART_LABELS.get(part, part))}</div>')
        extra = qa_links_html(seg, links[seg.order]) if seg.order in links else ""
        out.append(turn_html(seg, hit_order, query, extra))
    return "".join(out)


def plain_turn_html(seg, heading: str = "", limit: int = 0) -> str:
    """A turn (question, answer, related turn) with speaker, timestamp and escaped text."""
    text = seg.text if not limit or len(seg.text) <= limit else seg.text[:limit] + "…"
    bits = [heading, speaker_label(seg.speaker, seg.speaker_role), fmt_time(seg.start)]
    meta = " ・ ".join(escape(b) for b in bits if b) + badge(seg.visibility)
    return f'<div class="kb-turn"><div class="kb-who">{meta}</div><div class="kb-text">{escape(text)}</div></div>'


def table_html(headers: list[str], rows: list[list], cls: str = "kb-table") -> str:
    """An escaped HTML table."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def sessions_text(sessions: list[int]) -> str:
    return "、".join(session_label(s) for s in sessions)


def empty_result_tips(state: ViewState, role: str) -> list[str]:
    """Why nothing was found and what to try, in Japanese."""
    active = []
    if state.sessions:
        active.append("回")
    if state.date_from or state.date_to:
        active.append("期間")
    if state.doc_type:
        active.append("種類")
    if state.speaker:
        active.append("話者")
    if state.part:
        active.append("パート")
    tips = []
    if active:
        tips.append(f"絞り込み（{'・'.join(active)}）を外してみてください。")
    tips.append("別の言い方（同じ意味の言葉、略語や正式名称）で検索してみてください。")
    tips.append("ひらがな・カタカナ・漢字の表記を変えてみてください（例：「ないせいか」→「内製化」）。")
    tips.append("語を減らすと見つかりやすくなります。")
    if role == "public":
        tips.append("会員限定の資料は、公開の閲覧では検索の対象になりません。")
    return tips
