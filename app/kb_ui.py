"""Presentational helpers for the Streamlit page: URL state, labels and escaped HTML.

Nothing here searches: hits and documents come from `indexer`; this module only turns them into
text and HTML. All HTML of the app is built here (the views call these functions and pass the result
to `st.html`). Every value placed into HTML is escaped here, except `Hit.snippet`, which the
library has already escaped (with `<mark>` around the matches). Text shown through Markdown
(`st.error`, `st.info`, `st.markdown`, ...) goes through `md_escape`, the app's one Markdown escape.

>>> fmt_time(754.2), fmt_time(3723), fmt_time(None)
('12:34', '1:02:03', '')
>>> md_escape("**太字** <b>")
'\\\\*\\\\*太字\\\\*\\\\* \\\\<b\\\\>'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from indexer.models import PART_LABELS, TYPE_LABELS, VISIBILITY_LABELS
from indexer.search.cite import clock
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
    """The element id of a turn in the document's text (the only element with that id on the page)."""
    return f"seg-{int(order):04d}"


def doc_href(doc_id: str, order: int | None = None, query: str = "") -> str:
    """A relative link to a turn on the 文書 page (relative, so it works under any host or base path).

    >>> doc_href("s06 qa", 3, "費用")
    'document?doc=s06+qa&seg=3&q=%E8%B2%BB%E7%94%A8'
    """
    params = {"doc": doc_id}
    if order is not None:
        params["seg"] = str(int(order))
    if query.strip():
        params["q"] = query.strip()
    return "document?" + urlencode(params)


def copy_label(c) -> str:
    """Where else a turn is (a `dedupe.Copy`): the document's title, with the subtitle time when it has one.

    >>> from indexer.search.dedupe import Copy
    >>> copy_label(Copy("s06-qa", "第6回 質疑（字幕）", 1, 4335.0))
    '第6回 質疑（字幕） 1:12:15'
    """
    when = fmt_time(c.start)
    return f"{c.title or c.doc_id} {when}".strip()


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
.kb-turn.kb-match { border-left-color: #f5c36b; }
.kb-pinned { border: 1px solid #f0c36b; border-radius: 0.4rem; padding: 0.3rem 0.5rem; background: #fffaf0; }
.kb-jump { margin-top: 0.3rem; font-size: 0.9rem; }
.kb-copies { font-size: 0.85rem; color: #555; margin-top: 0.2rem; }
.kb-followups { font-size: 0.85rem; color: #555; margin-top: 0.2rem; }
.kb-copy-button { font: inherit; font-size: 0.95rem; padding: 0.35rem 0.75rem; border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.2); background: #fff; color: inherit; cursor: pointer; }
.kb-copy-button:hover { border-color: #ff4b4b; color: #ff4b4b; }
.kb-copy-done { margin-left: 0.5rem; font-size: 0.85rem; color: #2e7d32; }
.kb-copy-url { margin-top: 0.3rem; width: 100%; font-size: 0.85rem; }
.kb-sources { font-size: 0.85rem; color: #555; margin-bottom: 0.2rem; }
.kb-withdrawn { font-size: 0.85rem; color: #6b1f1a; background: #fdf0ef; border-radius: 0.3rem;
  padding: 0.2rem 0.5rem; margin-top: 0.3rem; }
.kb-withdrawn ul { margin: 0 0 0 1rem; padding: 0; }
.kb-withdrawn del { color: #444; }
.kb-tools { display: inline-flex; flex-wrap: wrap; gap: 0.4rem; align-items: center; margin-left: 0.5rem;
  font-weight: 400; }
.kb-tools .kb-copy-button { font-size: 0.8rem; padding: 0.1rem 0.5rem; }
.kb-media { font-size: 0.85rem; text-decoration: none; white-space: nowrap; }
.kb-hit-tools { margin-top: 0.2rem; }
.kb-hit-tools .kb-tools { margin-left: 0; }
/* The jump link and the next/previous hit leave the turn below Streamlit's fixed header. */
.kb-turn[id] { scroll-margin-top: 4.5rem; }
/* The element holding JA_SCRIPT takes no room. */
[data-testid="stElementContainer"]:has(.kb-ja), [data-testid="stElementContainer"]:has(.kb-scroll),
[data-testid="stElementContainer"]:has(.kb-cite-js) { display: none; }
/* The page title: Japanese breaks between any two characters, so keep words whole (auto-phrase where the
   browser supports it) and let the title shrink on a narrow screen instead of wrapping mid-word. */
h1 { word-break: keep-all; overflow-wrap: anywhere; line-break: strict; }
@supports (word-break: auto-phrase) { h1 { word-break: auto-phrase; } }
@media (max-width: 640px) {
  h1 { font-size: 1.35rem !important; padding: 0.2rem 0 0.4rem 0 !important; }
  .block-container, [data-testid="stMainBlockContainer"] { padding-top: 4rem !important;
    padding-left: 0.8rem !important; padding-right: 0.8rem !important; }
  .kb-meta { font-size: 0.8rem; }
}
</style>"""


#: Streamlit 1.67 has no language setting: the words of its own widgets and frame ("Drag and drop files here",
#: "Choose an option", "No results", "Page not found", "Running...", aria-labels such as "Open", "Sidebar",
#: "Show password", "Choose date") are English strings in its JavaScript bundle. Where Streamlit has an option
#: the app uses it (placeholder=, select_all=False, anchor=False, a registered page for every URL, a chart's own
#: description). For the rest, CSS could only hide visible text, not the labels screen readers read or the
#: placeholders of inputs, so this one static script translates exactly these strings, as Streamlit renders
#: them, through a MutationObserver: text nodes, and the aria-label / title / placeholder attributes. It holds
#: no data from the page, runs once per browser tab, and leaves every other string alone.
JA_TEXT = [
    ("^Drag and drop (files|a file|file) here$", "ここにファイルをドラッグ＆ドロップ"),
    ("^(?:Limit )?(\\d+(?:\\.\\d+)?)\\s*([KMGT]?B) per file(.*)$", "1 ファイル $1$2 まで$3"),
    ("^(Upload|Browse files)$", "ファイルを選ぶ"),
    ("^Upload directories$", "フォルダーを選ぶ"),
    ("^Select all$", "すべて選択"),
    ("^Select (\\d+) matches$", "一致する $1 件を選択"),
    ("^Add: (.*)$", "追加: $1"),
    ("^No results$", "該当なし"),
    ("^(Choose an option|Select\\.\\.\\.)$", "選んでください"),
    ("^Page not found$", "ページが見つかりません"),
    ("^(The page that you have requested does not seem to exist|You have requested page .*)\\. Running the app's main page\\.$",
     "お探しのページは見つかりませんでした。検索ページを表示しています。"),
    ("^Running\\.\\.\\.$", "処理中…"),
    ("^Stop$", "停止"),
    ("^Rerun$", "再実行"),
    ("^Skip to main content$", "本文へ移動"),
    ("^Press Enter to apply$", "Enter で確定"),
    ("^Press (⌘|Ctrl)\\+Enter to apply$", "$1+Enter で確定"),
    ("^Press Enter to submit form$", "Enter で送信"),
    ("^Press (⌘|Ctrl)\\+Enter to submit form$", "$1+Enter で送信"),
    ("^Connecting$", "接続しています"),
    ("^Connection error$", "接続エラー"),
    ("^Please wait\\.\\.\\.$", "お待ちください…"),
    ("^Close$", "閉じる"),
    ("^Cancel$", "キャンセル"),
    ("^Copy$", "コピー"),
    ("^Date range$", "期間"),
    ("^Choose date, (.*)$", "日付を選ぶ（$1）"),
    ("^This app has encountered an error\\..*$",
     "予期しないエラーが発生しました。時間をおいてもう一度お試しください。続く場合は事務局にご連絡ください。"),
    ("^(\\d+) options? available\\.$", "候補 $1 件。"),
    ("^Dismiss$", "閉じる"),
    ("^Use arrow keys to navigate dates\\. Enter to select\\. Escape to close\\.$",
     "矢印キーで日付を移動、Enter で選択、Esc で閉じます。"),
]
#: Only inside a date field: the placeholders of its parts.
JA_DATE_PARTS = [("^yyyy$", "年"), ("^mm$", "月"), ("^dd$", "日")]
JA_ATTRS = [
    ("^Sidebar$", "サイドバー"),
    ("^App pages$", "ページ一覧"),
    ("^Collapse sidebar$", "サイドバーを閉じる"),
    ("^Expand sidebar$", "サイドバーを開く"),
    ("^Main menu$", "メニュー"),
    ("^Notifications$", "通知"),
    ("^Open$", "開く"),
    ("^Close$", "閉じる"),
    ("^Clear all$", "すべて解除"),
    ("^Clear value$", "選択を解除"),
    ("^Clear entry$", "入力を消す"),
    ("^Remove (.*)$", "$1 を外す"),
    ("^Selected values$", "選択中の項目"),
    ("^Choose date$", "カレンダーから選ぶ"),
    ("^Choose date, (.*)$", "日付を選ぶ（$1）"),
    ("^Previous month$", "前の月"),
    ("^Next month$", "次の月"),
    ("^Previous year$", "前の年"),
    ("^Next year$", "次の年"),
    ("^Choose date range$", "カレンダーから期間を選ぶ"),
    ("^Clear dates?$", "日付を消す"),
    ("^Quick select a date range$", "期間をすばやく選ぶ"),
    ("^(.*) start date$", "$1（開始日）"),
    ("^(.*) end date$", "$1（終了日）"),
    ("^year, (.*)$", "年, $1"),
    ("^month, (.*)$", "月, $1"),
    ("^day, (.*)$", "日, $1"),
    ("^Help for (.*)$", "$1 の説明"),
    ("^Show password$", "入力した文字を表示"),
    ("^Hide password$", "入力した文字を隠す"),
    ("^Link to heading$", "この見出しへのリンク"),
    ("^Show data$", "データを表示"),
    ("^Download as PNG$", "画像（PNG）で保存"),
    ("^Download as CSV$", "CSV で保存"),
    ("^Copy Vega-Lite spec$", "グラフの定義をコピー"),
    ("^Fullscreen$", "全画面表示"),
    ("^Close fullscreen$", "全画面表示を終了"),
    ("^Vega visualization$", "グラフ"),
    ("^Search$", "検索"),
    ("^Add files$", "ファイルを追加"),
    ("^Dismiss$", "閉じる"),
    ("^Running\\.\\.\\.$", "処理中…"),
    ("^(Choose an option|Select\\.\\.\\.)$", "選んでください"),
]


def _ja_script() -> str:
    rules = json.dumps({"text": JA_TEXT, "date": JA_DATE_PARTS, "attrs": JA_ATTRS}, ensure_ascii=False)
    rules = rules.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"""<span class="kb-ja" hidden></span><script>
(function () {{
  if (window.__kbJa) return;
  window.__kbJa = true;
  const R = {rules};
  const compile = (list) => list.map(([p, r]) => [new RegExp(p), r]);
  const TEXT = compile(R.text), DATE = compile(R.date), ATTRS = compile(R.attrs);
  const tr = (rules, v) => {{
    const t = v.trim();
    if (!t) return null;
    for (const [re, rep] of rules) if (re.test(t)) return v.replace(t, t.replace(re, rep));
    return null;
  }};
  const NAMES = ['aria-label', 'title', 'placeholder'];
  const fixText = (n) => {{
    const el = n.parentElement;
    if (!el) return;
    const inDate = el.closest('[data-testid="stDateInputFieldsScroller"]');
    // the app's own content (class kb-*) and anything editable (but a date field's parts) stay as they are
    if (el.closest('script, style, [class*="kb-"], textarea') || (!inDate && el.closest('[contenteditable]'))) return;
    const rules = inDate ? DATE.concat(TEXT) : TEXT;
    const v = tr(rules, n.nodeValue);
    if (v !== null && v !== n.nodeValue) n.nodeValue = v;
  }};
  const fixEl = (el) => {{
    for (const a of NAMES) {{
      const old = el.getAttribute(a);
      if (!old) continue;
      const v = tr(ATTRS, old);
      if (v !== null && v !== old) el.setAttribute(a, v);
    }}
  }};
  const sweep = (root) => {{
    if (root.nodeType === 3) {{ fixText(root); return; }}
    if (root.nodeType !== 1) return;
    fixEl(root);
    root.querySelectorAll('[aria-label], [title], [placeholder]').forEach(fixEl);
    const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = w.nextNode())) fixText(n);
  }};
  const pending = new Set();
  let queued = false;
  const flush = () => {{ queued = false; const nodes = [...pending]; pending.clear(); nodes.forEach(sweep); }};
  const queue = (n) => {{ pending.add(n); if (!queued) {{ queued = true; requestAnimationFrame(flush); }} }};
  new MutationObserver((muts) => {{
    for (const m of muts) {{
      if (m.type === 'childList') m.addedNodes.forEach(queue);
      else if (m.type === 'characterData') queue(m.target);
      else if (m.type === 'attributes') queue(m.target);
    }}
  }}).observe(document.documentElement, {{ subtree: true, childList: true, characterData: true,
                                           attributes: true, attributeFilter: NAMES }});
  sweep(document.body);
}})();
</script>"""


#: The translation script (`st.html(JA_SCRIPT, unsafe_allow_javascript=True)` once per run, in the frame).
JA_SCRIPT = _ja_script()

#: 「引用をコピー」: one static script (`st.html(CITE_SCRIPT, unsafe_allow_javascript=True)` once per run, in the
#: frame) copies the `data-cite` of any `.kb-cite-button` clicked, so the turns' HTML itself runs no script. The
#: citation is an attribute value, escaped by `cite_button_html`; where the browser refuses the clipboard (plain
#: http on another host) the citation is shown selected, to copy by hand, as `copy_link_html` does.
CITE_SCRIPT = """<span class="kb-cite-js" hidden></span><script>
(function () {
  if (window.__kbCite) return;
  window.__kbCite = true;
  document.addEventListener('click', (ev) => {
    const btn = ev.target && ev.target.closest ? ev.target.closest('.kb-cite-button') : null;
    if (!btn) return;
    const text = btn.getAttribute('data-cite') || '';
    const box = btn.closest('.kb-cite') || btn.parentElement;
    const done = box.querySelector('.kb-copy-done');
    const manual = () => {
      let field = box.querySelector('.kb-copy-url');
      if (!field) {
        field = document.createElement('input');
        field.className = 'kb-copy-url'; field.type = 'text'; field.readOnly = true;
        field.setAttribute('aria-label', '引用');
        box.appendChild(field);
      }
      field.value = text; field.style.display = 'inline-block'; field.focus(); field.select();
      if (done) done.textContent = '引用を選択しました。Ctrl+C（⌘C）でコピーしてください。';
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => { if (done) done.textContent = '引用をコピーしました'; }, manual);
    } else { manual(); }
  });
})();
</script>"""


def badge(visibility: str) -> str:
    return f'<span class="kb-badge">{escape(VISIBILITY_LABELS["members"])}</span>' if visibility == "members" else ""


def media_html(url: str, seconds: float | None) -> str:
    """「▶ 1:13:51」: the recording opened at the turn's moment, in a new tab; "" without a link.

    >>> media_html("https://youtu.be/x?t=75&a=<", 75.2)
    '<a class="kb-media" href="https://youtu.be/x?t=75&amp;a=&lt;" target="_blank" rel="noopener" title="記録映像をこの時点から開く">▶ 0:01:15</a>'
    """
    if not url:
        return ""
    return (f'<a class="kb-media" href="{escape(url)}" target="_blank" rel="noopener" '
            f'title="記録映像をこの時点から開く">▶ {escape(clock(seconds))}</a>')


def cite_button_html(cite: str) -> str:
    """The 「引用をコピー」 button of a turn (`CITE_SCRIPT` copies its escaped `data-cite`); "" without one."""
    if not cite:
        return ""
    return (f'<span class="kb-cite"><button type="button" class="kb-copy-button kb-cite-button" '
            f'data-cite="{escape(cite)}" title="出典（会・回・日付・部・話者）とリンクをコピーします">引用をコピー</button>'
            f'<span class="kb-copy-done" role="status" aria-live="polite"></span></span>')


def tools_html(cite: str, media_url: str = "", seconds: float | None = None) -> str:
    """A turn's ▶ time link and 引用をコピー button, side by side ("" when it has neither)."""
    inner = media_html(media_url, seconds) + cite_button_html(cite)
    return f'<span class="kb-tools">{inner}</span>' if inner else ""


def turn_tools(seg, links) -> str:
    """`tools_html` of a turn from its `cite.TurnLinks` (None: nothing)."""
    return tools_html(links.cite, links.media_url, seg.start) if links is not None else ""


def hit_header_html(hit) -> str:
    """Session, date, speaker, part, title and badge of a hit, escaped."""
    bits = [escape(session_label(hit.session)), escape(hit.date), speaker_link_html(hit.speaker, hit.speaker_role),
            escape(PART_LABELS.get(hit.part, hit.part)), escape(TYPE_LABELS.get(hit.doc_type, hit.doc_type))]
    when = fmt_time(hit.start)
    if when:
        bits.append(escape(when))
    if not getattr(hit, "all_terms", True):
        bits.append("一部の語を含む")
    meta = " ・ ".join(b for b in bits if b)
    return (f'<div class="kb-meta">{meta}{badge(hit.visibility)}</div>'
            f'<div class="kb-title">{escape(hit.title or hit.doc_id)}</div>')


def snippet_html(hit) -> str:
    """The library's snippet (already escaped, `<mark>` only) in a container."""
    return f'<div class="kb-snippet">{hit.snippet}</div>'


FACET_GROUPS = (("session", "回"), ("speaker", "話者"), ("doc_type", "種類"), ("part", "パート"))


def facet_items(facets: dict[str, dict[str, int]], key: str, session_titles: dict[int, str] | None = None,
                limit: int = 15) -> list[tuple[str, str, int]]:
    """(value, label, count) of one facet, sessions in number order, the others by count (as given).

    >>> facet_items({"session": {"2": 1, "1": 3}}, "session", {1: "第1回 推進体制"})
    [('1', '第1回 推進体制', 3), ('2', '第2回', 1)]
    >>> facet_items({"part": {"qa": 2}}, "part")
    [('qa', '質疑応答', 2)]
    """
    counts = facets.get(key) or {}
    items = list(counts.items())
    if key == "session":
        items.sort(key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0)
    titles = session_titles or {}
    labels = {
        "session": lambda v: titles.get(int(v), session_label(v)) if str(v).isdigit() else session_label(v),
        "speaker": lambda v: v or "（話者なし）",
        "doc_type": lambda v: TYPE_LABELS.get(v, v),
        "part": lambda v: PART_LABELS.get(v, v),
    }[key]
    return [(str(v), str(labels(v)), int(n)) for v, n in items[:limit]]


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


def turn_html(seg, hit_order: int | None, query: str, links: str = "", *, anchor: bool = True,
              matched: bool = False, tools: str = "") -> str:
    """One speaker turn: label, timestamp, escaped text; the hit turn highlighted and marked.

    `links` is HTML built by `qa_links_html` / `copies_html` (already escaped). `anchor`: the turn in
    the document's text carries the id `seg-NNNN`; a copy shown elsewhere on the page (the pinned turn)
    carries none, so every id is unique and a jump lands in the text. `matched`: another turn that
    matches the query (its terms marked, as the hit's are). `tools`: its ▶ time link and 引用をコピー button
    (`turn_tools`, escaped), beside the speaker."""
    is_hit = hit_order is not None and seg.order == hit_order
    who = speaker_link_html(seg.speaker, seg.speaker_role)
    when = fmt_time(seg.start)
    meta = " ・ ".join(b for b in (("▶ この発言" if is_hit else ""), who, escape(when)) if b)
    meta += badge(seg.visibility) + tools
    marked = (is_hit or matched) and query.strip()
    body = KnowledgeBase.highlight(seg.text, query) if marked else escape(seg.text)
    cls = "kb-turn kb-hit" if is_hit else ("kb-turn kb-match" if matched else "kb-turn")
    head = f'<div class="kb-who">{meta}</div>' if meta else ""
    ident = f' id="{seg_anchor(seg.order)}"' if anchor else ""
    return (f'<div class="{cls}"{ident} data-order="{int(seg.order)}">{head}<div class="kb-text">{body}</div>'
            f'{links}</div>')


def copies_html(copies, query: str = "", lead: str = "同じ発言の別の記録") -> str:
    """Links to the same turn in the session's other documents (subtitles and transcript), escaped."""
    if not copies:
        return ""
    items = "・".join(f'<a href="{escape(doc_href(c.doc_id, c.order, query))}" target="_self">'
                     f'{escape(copy_label(c))}</a>' for c in copies)
    return f'<div class="kb-copies">{escape(lead)}：{items}</div>'


def _followup_who(f) -> str:
    """Who spoke a linked turn (else its document's title), from a `Followup` or its dict."""
    get = f.get if isinstance(f, dict) else lambda k, d="": getattr(f, k, d)
    return get("speaker", "") or get("title", "") or get("doc_id", "")


def followups_html(items, query: str = "") -> str:
    """Under a turn of the 文書 page: one line per turn of another session on the same topic, escaped.

    >>> from indexer.search.followup_links import Followup
    >>> followups_html([Followup("s05#0051", "s05", 51, "5", "北条真琴", True, "実測の<結果>", 0.5)])
    '<div class="kb-followups">第5回でも議論: <a href="document?doc=s05&amp;seg=51" target="_self">北条真琴</a> 実測の&lt;結果&gt;</div>'
    """
    lines = [f'<div class="kb-followups">{escape(f.lead)}: <a href="{escape(doc_href(f.doc_id, f.order, query))}" '
             f'target="_self">{escape(_followup_who(f))}</a> {escape(f.snippet)}</div>' for f in items or ()]
    return "".join(lines)


def hit_followups_html(items) -> str:
    """A hit's small 「ほかの回でも」 line: a link to each linked turn (`kb search --json`'s dicts), escaped.

    >>> hit_followups_html([{"doc_id": "s05", "order": 3, "session": 5, "speaker": "森下千晶"}])
    '<div class="kb-followups">ほかの回でも：<a href="document?doc=s05&amp;seg=3" target="_self">第5回 森下千晶</a></div>'
    """
    if not items:
        return ""
    links = "・".join(f'<a href="{escape(doc_href(f["doc_id"], f["order"]))}" target="_self">'
                      f'{escape(session_label(f.get("session")))} {escape(_followup_who(f))}</a>' for f in items)
    return f'<div class="kb-followups">ほかの回でも：{links}</div>'


def pinned_turn_html(hit, query: str, question=None, answers=(), copies=(), links=None) -> str:
    """The hit turn pinned above the text (no element id), with its question or answers, where else the
    session holds it, and the link that jumps to the turn in the text. `links`: its `cite.TurnLinks`."""
    out = turn_html(hit, hit.order, query, copies_html(copies, query), anchor=False, tools=turn_tools(hit, links))
    if question is not None:
        out += plain_turn_html(question, "この回答への質問")
    out += "".join(plain_turn_html(a, "この質問への回答") for a in answers)
    out += (f'<div class="kb-jump"><a href="#{seg_anchor(hit.order)}" target="_self">'
            f'文書の中でこの発言の位置へ移動</a></div>')
    return f'<div class="kb-pinned">{out}</div>'


def hit_position_text(orders: list[int], current: int | None) -> str:
    """Where the shown turn is among the document's matching turns.

    >>> hit_position_text([3, 8, 12], 8), hit_position_text([3, 8], None), hit_position_text([], 1)
    ('該当箇所 2 / 3', '該当箇所 2 件', '該当箇所なし')
    """
    if not orders:
        return "該当箇所なし"
    if current in orders:
        return f"該当箇所 {orders.index(current) + 1} / {len(orders)}"
    return f"該当箇所 {len(orders)} 件"


def neighbour_hits(orders: list[int], current: int | None) -> tuple[int | None, int | None]:
    """The matching turns before and after `current` (in document order).

    >>> neighbour_hits([3, 8, 12], 8), neighbour_hits([3, 8, 12], 5), neighbour_hits([3], 3)
    ((3, 12), (3, 8), (None, None))
    """
    before = [o for o in orders if current is not None and o < current]
    after = [o for o in orders if current is None or o > current]
    return (before[-1] if before else None), (after[0] if after else None)


def scroll_to_turn_html(order: int, nonce: int) -> str:
    """After "次の該当箇所" / "前の該当箇所": bring the turn in the document's text into view (static code, the
    id built from an integer; `nonce` makes each request a new element, so it runs once per click)."""
    anchor = seg_anchor(order)
    return (f'<span class="kb-scroll" data-nonce="{int(nonce)}" hidden></span><script>(function () {{'
            f'let n = 0; const go = () => {{ const el = document.getElementById("{anchor}");'
            f' if (el) {{ el.scrollIntoView({{block: "start"}}); }} else if (n++ < 40) {{ setTimeout(go, 50); }} }};'
            f' setTimeout(go, 50); }})();</script>')


def copy_link_html(href: str, label: str = "この発言へのリンクをコピー") -> str:
    """A button that copies the absolute URL of `href` (relative, see `doc_href`) to the clipboard.

    Streamlit has no clipboard element, so this is the one block of the app run with
    `st.html(..., unsafe_allow_javascript=True)`: static code, the link passed as a JSON string (with
    `<`, `>` and `&` escaped, so nothing in it can close the script). Where the browser refuses the
    clipboard (plain http on another host), the link is shown selected, to copy by hand."""
    data = json.dumps(href).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"""<div class="kb-copylink">
<button type="button" class="kb-copy-button">{escape(label)}</button>
<span class="kb-copy-done" role="status" aria-live="polite"></span>
<input class="kb-copy-url" type="text" readonly aria-label="この発言へのリンク" style="display:none">
</div>
<script>
(function () {{
  const root = document.currentScript ? document.currentScript.previousElementSibling : null;
  const box = root || document.querySelector('.kb-copylink');
  if (!box) return;
  const url = new URL({data}, window.location.href).href;
  const done = box.querySelector('.kb-copy-done');
  const field = box.querySelector('.kb-copy-url');
  field.value = url;
  box.dataset.url = url;
  const manual = () => {{ field.style.display = 'inline-block'; field.focus(); field.select();
                           done.textContent = 'リンクを選択しました。Ctrl+C（⌘C）でコピーしてください。'; }};
  box.querySelector('.kb-copy-button').addEventListener('click', () => {{
    if (navigator.clipboard && window.isSecureContext) {{
      navigator.clipboard.writeText(url).then(() => {{ done.textContent = 'リンクをコピーしました'; }}, manual);
    }} else {{ manual(); }}
  }});
}})();
</script>"""


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


def document_body_html(doc, hit_order: int | None, query: str, links: dict | None = None,
                       matches: list[int] | tuple = (), copies: dict | None = None, cites: dict | None = None,
                       withdrawn: dict | None = None, followups: dict | None = None) -> str:
    """Every turn of a document in order, with a heading where the part changes.

    `links` maps a turn's order to its `QALinks` (questions ↔ answers); `matches` are the orders of the
    turns that match the query (marked); `copies` maps an order to the same turn in the session's other
    documents (named under the turn); `cites` maps an order to its `cite.TurnLinks` (▶ and 引用をコピー);
    `withdrawn` (the secretariat's view only) maps an order to its withdrawals (`withdrawn_html`);
    `followups` maps an order to the turns of other sessions on its topic (`followups_html`)."""
    out, part = [], None
    links = links or {}
    copies = copies or {}
    cites = cites or {}
    wanted = set(matches)
    for seg in doc.segments:
        if seg.part != part:
            part = seg.part
            out.append(f'<div class="kb-part">{escape(PART_LABELS.get(part, part))}</div>')
        extra = qa_links_html(seg, links[seg.order]) if seg.order in links else ""
        extra += copies_html(copies.get(seg.order), query)
        extra += withdrawn_html((withdrawn or {}).get(seg.order, ()))
        extra += followups_html((followups or {}).get(seg.order), query)
        out.append(turn_html(seg, hit_order, query, extra, matched=seg.order in wanted,
                             tools=turn_tools(seg, cites.get(seg.order))))
    return "".join(out)


def related_html(hit, limit: int = 200) -> str:
    """A related turn: its header and the start of its text, escaped."""
    text = hit.text if len(hit.text) <= limit else hit.text[:limit] + "…"
    return hit_header_html(hit) + f'<div class="kb-snippet">{escape(text)}</div>'


def hit_html(hit, copies=(), query: str = "") -> str:
    """A search hit: header, the library's snippet, where else the session holds the same turn, and its ▶ time
    link and 引用をコピー button."""
    tools = tools_html(getattr(hit, "cite", ""), getattr(hit, "media_url", ""), hit.start)
    return (hit_header_html(hit) + snippet_html(hit) + copies_html(copies, query)
            + (f'<div class="kb-hit-tools">{tools}</div>' if tools else ""))


def sources_html(sources) -> str:
    """The documents that hold one exchange (a Q&A pair held by a transcript and its subtitles)."""
    if len(sources) < 2:
        return ""
    items = "・".join(f'<a href="{escape(doc_href(c.doc_id, c.order))}" target="_self">{escape(copy_label(c))}</a>'
                     for c in sources)
    return f'<div class="kb-sources">同じ質疑が {len(sources)} つの記録にあります：{items}</div>'


def qa_pair_html(pair) -> str:
    """A question with its answers (a `browse.QAPair`), its session and title, and every source."""
    meta = " ・ ".join(b for b in (session_label(pair.session), pair.date, pair.title) if b)
    out = f'<div class="kb-meta">{escape(meta)}</div>' + sources_html(pair.sources)
    out += plain_turn_html(pair.question, "質問", speaker_links=True)
    out += "".join(plain_turn_html(a, "回答", speaker_links=True) for a in pair.answers)
    if not pair.answers:
        out += '<div class="kb-meta">（回答は記録されていません）</div>'
    return out


def plain_turn_html(seg, heading: str = "", limit: int = 0, speaker_links: bool = False) -> str:
    """A turn (question, answer, related turn) with speaker, timestamp and escaped text; with `speaker_links`
    the speaker's name links to that speaker's Q&A and turns (`speaker_link_html`)."""
    text = seg.text if not limit or len(seg.text) <= limit else seg.text[:limit] + "…"
    who = speaker_link_html(seg.speaker, seg.speaker_role) if speaker_links else escape(
        speaker_label(seg.speaker, seg.speaker_role))
    meta = " ・ ".join(b for b in (escape(heading), who, escape(fmt_time(seg.start))) if b) + badge(seg.visibility)
    return f'<div class="kb-turn"><div class="kb-who">{meta}</div><div class="kb-text">{escape(text)}</div></div>'


def table_html(headers: list[str], rows: list[list], cls: str = "kb-table") -> str:
    """An escaped HTML table."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def trend_chart_spec(rows: int) -> dict:
    """Vega-Lite: horizontal bars, one per session (第N回 on the left, in date order from the top, labels
    upright and whole), the count along the bottom in whole numbers, date and theme in the tooltip."""
    return {
        "description": "回ごとの発言数（横棒グラフ）",
        "config": {"aria": False},  # Vega's own English descriptions of the axes stay out
        "height": max(120, 34 * rows),
        "mark": {"type": "bar", "color": "#f08c00", "tooltip": True},
        "encoding": {
            "y": {"field": "回", "type": "nominal", "sort": None, "title": None,
                  "axis": {"labelAngle": 0, "labelLimit": 0, "labelFontSize": 13}},
            "x": {"field": "発言数", "type": "quantitative", "title": "発言数",
                  "axis": {"format": "d", "tickMinStep": 1, "labelAngle": 0}},
            "tooltip": [{"field": "回", "type": "nominal"}, {"field": "日付", "type": "nominal"},
                        {"field": "テーマ", "type": "nominal"},
                        {"field": "発言数", "type": "quantitative", "format": "d"}],
        },
    }


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


def speaker_link_html(name: str, role: str = "") -> str:
    """A speaker's name (with the role written with it) as a link to that speaker's page of the Q&A view:
    the questions they answered and every turn of theirs (`qa?answerer=<name>`). Plain text without a name.

    >>> speaker_link_html("佐伯一郎", "ゲスト")
    '<a class="kb-speaker" href="qa?answerer=%E4%BD%90%E4%BC%AF%E4%B8%80%E9%83%8E" target="_self" title="佐伯一郎の発言と質疑">佐伯一郎（ゲスト）</a>'
    >>> speaker_link_html("", "司会"), speaker_link_html("<b>", "")[-13:]
    ('司会', '&lt;b&gt;</a>')
    """
    from urllib.parse import quote

    label = escape(speaker_label(name, role))
    if not name:
        return label
    href = "qa?answerer=" + quote(name, safe="")
    return (f'<a class="kb-speaker" href="{escape(href)}" target="_self" title="{escape(name)}の発言と質疑">'
            f"{label}</a>")


# -- 発言の取り消し (the secretariat's view) ----------------------------------------------------------------
def withdrawn_when(w) -> str:
    """Who withdrew it and when, for the secretariat (「森下・2026-01-05 10:12」).

    >>> from indexer.ingest.withdrawals import Withdrawal
    >>> withdrawn_when(Withdrawal("d#0001", "d", 1, 0, 3, "三百万", "r", "morishita", "2026-01-05T10:12:09+00:00"))
    'morishita・2026-01-05 10:12'
    """
    return f"{w.actor or '-'}・{(w.time or '-')[:16].replace('T', ' ')}"


def withdrawn_html(turn) -> str:
    """Under a turn, for the secretariat only: each withdrawn text struck through, with its reason, who and when
    (everyone else sees only 「（発言取り消し）」 in the text). Empty for a turn without withdrawals."""
    if not turn:
        return ""
    items = "".join(f'<li><del>{escape(w.text)}</del> <span class="kb-withdrawn-why">理由: {escape(w.reason)}'
                    f'（{escape(w.span_label)}・{escape(withdrawn_when(w))}）</span></li>' for w in turn)
    return f'<div class="kb-withdrawn">取り消した発言（事務局にだけ表示）<ul>{items}</ul></div>'


def withdrawals_table_html(items) -> str:
    """The 管理 page's list of withdrawals (escaped); the withdrawn text itself is struck through."""
    head = "".join(f"<th>{h}</th>" for h in ("発言 ID", "範囲", "取り消した部分", "理由", "実行者・日時"))
    rows = "".join(f"<tr><td>{escape(w.turn_id)}</td><td>{escape(w.span_label)}</td><td><del>{escape(w.text)}</del></td>"
                   f"<td>{escape(w.reason)}</td><td>{escape(withdrawn_when(w))}"
                   f"{'（コーパスの記録）' if w.origin == 'corpus' else ''}</td></tr>" for w in items)
    return f'<table class="kb-table kb-withdrawals"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
