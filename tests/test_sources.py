"""Decoding and front matter."""

import codecs

import pytest

from indexer.errors import IngestError
from indexer.ingest.sources import decode, read_source, split_front_matter

TEXT = "①内製化の件、㈱ベンダーとｸﾗｳﾄﾞ契約\n次の行"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("cp932"), "cp932"),
        (TEXT.replace("①", "").replace("㈱", "").encode("euc_jp"), "euc_jp"),
        (TEXT.replace("\n", "\r\n").encode("utf-8"), "utf-8"),
    ],
)
def test_decode(data, encoding):
    text, enc = decode(data)
    assert enc == encoding
    assert "\r" not in text and "内製化" in text


def test_nul_bytes_are_dropped_but_binary_is_refused():
    assert decode("内製\x00化".encode())[0] == "内製化"
    with pytest.raises(IngestError, match="バイナリ"):
        decode(bytes(range(256)) * 50)


def test_front_matter():
    meta, body = split_front_matter("---\nid: a\nsession: 3\n---\n本文")
    assert meta == {"id": "a", "session": 3} and body == "本文"
    with pytest.raises(IngestError, match="front matter"):
        split_front_matter("---\nid: [a\n---\n本文")


def test_unsupported_and_missing_files(tmp_path):
    p = tmp_path / "a.xyz"
    p.write_text("x")
    with pytest.raises(IngestError, match="対応していない"):
        read_source(p)
    with pytest.raises(IngestError, match="見つかりません"):
        read_source(tmp_path / "none.md")


def test_cp932_file_keeps_circled_digits(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(("---\nid: x\n---\n" + TEXT).encode("cp932"))
    src = read_source(p)
    assert src.encoding == "cp932" and src.meta == {"id": "x"} and "①" in src.text and "㈱" in src.text
