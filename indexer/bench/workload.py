"""`kb bench`'s workload: the fixed query mix and its sizes (shared by the run and its report)."""

from __future__ import annotations

TOP_K = 10
ROLE = "public"
TRANSCRIPT_CHARS = 50_000
#: The fixed query mix: five kinds, four queries each (Tokyo Metropolitan Assembly minutes, 2000–2020).
QUERY_MIX: dict[str, list[str]] = {
    "keyword": ["予算", "防災", "教育", "オリンピック"],
    "two_keywords": ["防災 予算", "待機児童 対策", "中小企業 支援", "築地市場 移転"],
    "two_chars": ["福祉", "医療", "震災", "住宅"],
    "phrase": ['"東京二〇二〇大会"', '"首都直下地震"', '"新型コロナウイルス"', '"情報公開"'],
    "question": ["新型コロナウイルスの検査体制はどうなっているのか", "築地市場の移転について知事の見解は",
                 "待機児童を減らすために都は何をしているのか", "首都直下地震に備えた防災対策はどうなっているか"],
}
KIND_LABELS = {"keyword": "one keyword", "two_keywords": "two keywords", "two_chars": "2-character word",
               "phrase": "quoted phrase", "question": "whole question"}
