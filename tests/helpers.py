"""Tiny corpora and index builders shared by the tests (every index is written through `indexer.archive`)."""

from __future__ import annotations

import json
from pathlib import Path

from indexer.archive.actions import index_corpus
from indexer.archive.datadir import DataDir
from indexer.search.kb import KnowledgeBase

CATALOGUE = """\
people:
  - name: 北条 真琴
    aliases: [北条, 北条座長]
    role: 座長
  - name: 佐伯 一郎
    role: ゲスト
  - name: 田村 花子
    role: 参加者
sessions:
  - number: 1
    date: 2025-06-17
    title: 推進体制と人材
    chair: 北条 真琴
    guests: [佐伯 一郎]
    documents:
      - {file: s01/report.md, type: report, visibility: public}
  - number: 2
    date: 2025-08-19
    title: クラウド契約
    chair: 北条 真琴
"""

REPORT = """\
---
id: r1
title: 第1回レポート
---
# 第1回レポート 推進体制と人材

ネットワークの内製化と予算について、座長が講義しました。

防災の取り組みも紹介されました。
"""

TRANSCRIPT = """\
---
id: t1
session: 1
type: transcript
visibility: public
members_only_parts: [discussion]
title: 第1回 トランスクリプト
---
## 講義
【北条座長】本日は推進体制の話をします。サーバーの更新も含めてです。

## ゲスト講演
佐伯：決裁システムを内製化しました。ＤＸの第一歩です。

## 質疑応答
田村：内製化で費用は下がりましたか？
佐伯：三割ほど下がりました。サーバ代が大きいです。
田村：人材はどう確保しましたか？
佐伯：庁内公募です。

## ディスカッション
田村：ここだけの話、プロジェクト翠嵐のベンダー見積は高すぎました。
"""

MEMBERS = """\
---
id: m2
session: 2
type: transcript
visibility: members
title: 第2回 会員限定
---
## ディスカッション
【北条座長】秘匿語カワセミ計画について議論します。<script>alert(1)</script> **太字**
"""


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """`rows` as a UTF-8 JSON-lines file at `path`."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_corpus(root: Path) -> Path:
    """The tiny corpus (catalogue, a report, a transcript with a members-only part, a members-only document)."""
    (root / "s01").mkdir(parents=True, exist_ok=True)
    (root / "s02").mkdir(parents=True, exist_ok=True)
    (root / "sessions.yaml").write_text(CATALOGUE, encoding="utf-8")
    (root / "s01" / "report.md").write_text(REPORT, encoding="utf-8")
    (root / "s01" / "transcript.md").write_text(TRANSCRIPT, encoding="utf-8")
    (root / "s02" / "members.md").write_text(MEMBERS, encoding="utf-8")
    return root


def build_kb(tmp_path: Path) -> KnowledgeBase:
    """The tiny corpus as `kb --data tmp_path index tmp_path/corpus` makes it (the index in `tmp_path/index`)."""
    corpus = write_corpus(tmp_path / "corpus")
    data = DataDir.at(tmp_path)
    return KnowledgeBase(index_corpus(corpus, data), data_dir=data.root)


#: The Q&A of t1 once more, as the subtitles of the recording (s01/qa.vtt): the same turns, cut into cues.
SUBTITLES = """\
WEBVTT

1
00:41:02.000 --> 00:41:05.000
<v 田村>内製化で費用は

2
00:41:05.000 --> 00:41:07.500
<v 田村>下がりましたか？

3
00:41:08.000 --> 00:41:12.000
<v 佐伯>三割ほど下がりました。

4
00:41:12.000 --> 00:41:15.000
<v 佐伯>サーバ代が大きいです。

5
00:41:16.000 --> 00:41:19.000
<v 田村>人材はどう確保しましたか？

6
00:41:20.000 --> 00:41:22.000
<v 佐伯>庁内公募です。
"""


def write_subtitled_corpus(root: Path) -> Path:
    """The tiny corpus plus s01/qa.vtt: session 1's Q&A held twice (the transcript t1 and its subtitles)."""
    write_corpus(root)
    (root / "s01" / "qa.vtt").write_text(SUBTITLES, encoding="utf-8")
    catalogue = CATALOGUE.replace(
        "      - {file: s01/report.md, type: report, visibility: public}\n",
        "      - {file: s01/report.md, type: report, visibility: public}\n"
        "      - {file: s01/qa.vtt, type: transcript, visibility: public, part: qa, title: 第1回 質疑応答（字幕）}\n")
    (root / "sessions.yaml").write_text(catalogue, encoding="utf-8")
    return root
