"""Speaker markers and name normalization."""

import pytest

from indexer.text.speakers import SpeakerDirectory, normalize_name, parse_turn


@pytest.mark.parametrize(
    "line, name, role, qa, text",
    [
        ("【北条座長】では始めます。", "北条", "座長", "", "では始めます。"),
        ("大久保：内製化の経緯です。", "大久保", "", "", "内製化の経緯です。"),
        ("北条 真琴: 次に進みます", "北条真琴", "", "", "次に進みます"),
        ("○議長（山田太郎君）ただいまから会議を開きます。", "山田太郎", "議長", "", "ただいまから会議を開きます。"),
        ("○加藤委員長　これより会議を開きます。", "加藤", "委員長", "", "これより会議を開きます。"),
        ("川島委員長　ただいまから委員会を開会いたします。", "川島", "委員長", "", "ただいまから委員会を開会いたします。"),
        ("Q：（西浜市 田村）費用は下がりましたか。", "田村", "", "question", "費用は下がりましたか。"),
        ("A：下がりました。", "", "", "answer", "下がりました。"),
        ("質問者（田村）：予算は？", "田村", "", "question", "予算は？"),
        ("回答者（佐伯）：三割です。", "佐伯", "", "answer", "三割です。"),
    ],
)
def test_parse_turn(line, name, role, qa, text):
    t = parse_turn(line)
    assert t is not None
    assert (t.name, t.role, t.qa, t.text) == (name, role, qa, text)


@pytest.mark.parametrize("line", ["日時：2/28(火) 9:00-12:00", "テーマ：プロジェクトマネジメント", "普通の文章です。",
                                  "https://example.jp/a:b", "2025年：予算",
                                  "委員長 は欠席", "本日の委員会 では"])
def test_not_a_turn(line):
    assert parse_turn(line) is None


@pytest.mark.parametrize(
    "label, expected",
    [("大久保 光伸", ("大久保光伸", "")), ("大久保光伸", ("大久保光伸", "")), ("大久保氏", ("大久保", "")),
     ("菅原座長", ("菅原", "座長")), ("知事", ("", "知事")), ("ＤＸ推進課長", ("DX推進", "課長"))],
)
def test_normalize_name(label, expected):
    assert normalize_name(label) == expected


def test_directory_merges_aliases_and_surnames():
    d = SpeakerDirectory([{"name": "北条 真琴", "aliases": ["北条座長"], "role": "座長"},
                          {"name": "佐伯 一郎", "role": "ゲスト"}])
    assert d.resolve("北条", "") == ("北条真琴", "座長")
    assert d.resolve("北条真琴", "") == ("北条真琴", "座長")
    assert d.resolve("佐伯", "講師") == ("佐伯一郎", "講師")
    assert d.resolve("田村", "") == ("田村", "")
