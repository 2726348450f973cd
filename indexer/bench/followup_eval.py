"""Precision and recall of the follow-up links (ほかの回でも) on a labelled set of turn pairs.

The set (`tests/data/followups.jsonl`) names each turn by its document id and a quoted fragment of its
text — not by turn order, which changes when turns are added — as one JSON object per line::

    {"a": {"doc": "s02-transcript", "text": "…"}, "b": {"doc": "s05-transcript", "text": "…"},
     "label": "followup" | "near_miss", "kind": "…", "note": "…"}

A pair is predicted when `indexer.search.followups.compute` links the two turns. Precision is over the
labelled pairs predicted (true follow-ups / all predicted), recall over the true follow-ups.

>>> Scores(tp=3, fp=1, fn=1).precision, Scores(tp=3, fp=1, fn=1).recall
(0.75, 0.75)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from indexer.errors import KbError
from indexer.index.store import Index
from indexer.search import followups
from indexer.search.kb import KnowledgeBase

FOLLOWUP, NEAR_MISS = "followup", "near_miss"


@dataclass
class Pair:
    """One labelled pair, its turns resolved to turn ids."""

    a: str
    b: str
    label: str
    kind: str = ""
    note: str = ""


@dataclass
class Scores:
    """Counts at one threshold, and the pairs that went wrong."""

    threshold: float = 0.0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    links: int = 0  # every link of the corpus, labelled or not
    wrong: list[Pair] = field(default_factory=list)
    missed: list[Pair] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def resolve(kb: KnowledgeBase, ref: dict) -> str:
    """The turn id of `{"doc", "text"}`: the one turn of that document holding the fragment."""
    doc = kb.document(ref["doc"], role="secretariat")
    if doc is None:
        raise KbError(f"ラベルの文書が見つかりません: {ref['doc']}")
    found = [s for s in doc.segments if ref["text"] in s.text]
    if len(found) != 1:
        raise KbError(f"ラベルの断片が {ref['doc']} の {len(found)} 発言にあります（1 発言に絞ってください）: "
                      f"{ref['text']}")
    return doc.segment_id(found[0].order)


def load_pairs(path: Path, kb: KnowledgeBase) -> list[Pair]:
    """The labelled set, every turn resolved in `kb`'s index."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            pairs.append(Pair(resolve(kb, row["a"]), resolve(kb, row["b"]), row["label"], row.get("kind", ""),
                              row.get("note", "")))
    return pairs


def score(index: Index, pairs: list[Pair], threshold: float = followups.THRESHOLD) -> Scores:
    """Precision and recall of the links computed at `threshold` on the labelled pairs."""
    links = followups.compute(index, threshold=threshold)
    linked = {frozenset((a, b)) for a, b, _ in links.pairs}
    out = Scores(threshold=threshold, links=len(links.pairs))
    for p in pairs:
        hit = frozenset((p.a, p.b)) in linked
        if p.label == FOLLOWUP:
            out.tp += hit
            out.fn += not hit
            if not hit:
                out.missed.append(p)
        elif hit:
            out.fp += 1
            out.wrong.append(p)
    return out


def sweep(index: Index, pairs: list[Pair], thresholds: list[float]) -> list[Scores]:
    """`score` at each threshold."""
    return [score(index, pairs, t) for t in thresholds]
