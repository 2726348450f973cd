"""Width folding with offsets back to the original text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.text.normalize import fold, fold_text


@pytest.mark.parametrize(
    "text, folded",
    [("ｸﾗｳﾄﾞ", "クラウド"), ("ＤＸ　推進", "DX 推進"), ("①㈱", "1(株)"), ("a\x00b", "a b"), ("ﾊﾟｿｺﾝ", "パソコン")],
)
def test_fold(text, folded):
    assert fold_text(text) == folded


def test_span_maps_back_through_voiced_marks():
    f = fold("ｸﾗｳﾄﾞ契約")
    assert f.text == "クラウド契約"
    assert f.span(0, 4) == (0, 5)
    assert f.span(4, 6) == (5, 7)


@given(st.text(max_size=80))
def test_spans_are_monotonic_and_inside(text):
    f = fold(text)
    for i in range(len(f.text)):
        s, e = f.span(i, i + 1)
        assert 0 <= s <= e <= len(text)
