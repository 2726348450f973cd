"""Safe names for uploaded files.

`safe_filename` turns whatever name a browser sends into one plain file name to store under the
managed data directory: no directories, no `..`, no control or invisible characters, no characters
Windows forbids, a bounded length, and the original extension kept.

>>> safe_filename("../../etc/第１回　議事録.MD")
'第1回_議事録.MD'
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 120
MAX_BYTES = 240  # most file systems allow 255 bytes per name
MAX_EXT_CHARS = 16
DEFAULT_STEM = "upload"
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_EXT = re.compile(rf"\.[A-Za-z0-9]{{1,{MAX_EXT_CHARS - 1}}}")
_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)


def _fit(text: str, max_chars: int, max_bytes: int) -> str:
    text = text[:max_chars]
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    return text


def safe_filename(name: str, default: str = DEFAULT_STEM) -> str:
    """A safe single file name for `name` (never empty, never a path, never hidden)."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]  # the last path component (browsers may send C:\\...\\x.md)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")  # control, format (bidi, ZWSP)
    text = re.sub(r"\s+", "_", text.strip())
    text = _FORBIDDEN.sub("_", text)
    text = text.strip("._ ")  # no hidden files, no "..", no trailing dots (Windows)
    stem, ext = text, ""
    m = _EXT.search(text)
    if m and m.end() == len(text) and m.start() > 0:
        stem, ext = text[: m.start()].rstrip("._ "), m.group(0)
    stem = re.sub(r"\.{2,}", ".", stem)
    if not stem:
        stem = default
    if _RESERVED.fullmatch(stem):
        stem = "_" + stem
    stem = _fit(stem, MAX_CHARS - len(ext), MAX_BYTES - len(ext.encode("utf-8"))).rstrip("._ ") or default
    return stem + ext
