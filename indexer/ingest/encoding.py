"""Bytes to text: the encodings Japanese files come in (UTF-8/16, CP932, EUC-JP, ISO-2022-JP).

>>> decode("①㈱".encode("cp932"))
('①㈱', 'cp932')
"""

from __future__ import annotations

import codecs

from indexer.errors import IngestError

_CANDIDATES = ("utf_8", "cp932", "euc_jp", "iso2022_jp")


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of a Japanese text file, returning (text, encoding name).

    UTF-8 (with or without BOM), UTF-16 with BOM, CP932 (not shift_jis: ①, ㈱), EUC-JP, ISO-2022-JP.
    """
    if data.startswith(codecs.BOM_UTF8):
        return clean_newlines(data[3:].decode("utf-8", errors="replace")), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return clean_newlines(data.decode("utf-16", errors="replace")), "utf-16"
    nul = data.count(b"\x00")
    if nul and nul > max(16, len(data) // 100):
        raise IngestError("バイナリファイルのようです（NUL 文字が多数含まれています）。テキスト・字幕・文書ファイルを指定してください。")
    data = data.replace(b"\x00", b"")
    try:
        return clean_newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _detect(data)
    if encoding is None:
        head = data[:65536]
        if sum(1 for b in head if b < 9 or 13 < b < 32) > len(head) // 100:
            raise IngestError("バイナリファイルのようです（制御文字が多数含まれています）。テキスト・字幕・文書ファイルを指定してください。")
        raise IngestError("文字コードを判別できませんでした（UTF-8 / CP932 / EUC-JP のいずれでもありません）。")
    return clean_newlines(data.decode(encoding)), encoding


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(_CANDIDATES)).best()
    candidates = ([best.encoding] if best else []) + list(_CANDIDATES)
    for enc in candidates:
        enc = "cp932" if enc in ("shift_jis", "sjis", "cp932", "ms932") else enc
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_like_text(text):
            return enc
    return None


def _looks_like_text(text: str) -> bool:
    if not text:
        return True
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\t\n\r\f") or 0xE000 <= ord(c) <= 0xF8FF)
    return bad <= len(text) // 200


def clean_newlines(text: str) -> str:
    """Unix line ends, no NUL characters."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
