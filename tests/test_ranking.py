"""The first stage: a passage read under its document's title (title presence)."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.bench.evaluate import ProductSearch
from indexer.search.ranking import RankParams

from helpers import write_jsonl

# Two paragraphs of one article: only the first names the horse, the second is the one about the
# fracture. A third article mentions a fracture too.
CORPUS = [
    {"id": "t1", "title": "テンポイント", "text": "テンポイントは東京優駿で7着に敗れた。"},
    {"id": "t2", "title": "テンポイント", "text": "第4コーナーで左後肢を骨折し、競走を中止した。"},
    {"id": "o1", "title": "トウショウボーイ", "text": "トウショウボーイは骨折することなく引退した。"},
    {"id": "f1", "title": "富士山", "text": "富士山は静岡県と山梨県にまたがる活火山である。"},
    {"id": "f2", "title": "琵琶湖", "text": "琵琶湖は滋賀県にある日本最大の湖である。"},
]


@pytest.fixture(scope="module")
def product(tmp_path_factory):
    with ProductSearch(write_jsonl(tmp_path_factory.mktemp("title") / "corpus.jsonl", CORPUS), procs=1) as p:
        yield p


@pytest.mark.parametrize("question", ["テンポイントが骨折したのはどこ", "テンポイントはどこで骨折したか"])
def test_a_paragraph_counts_its_article_title(product, question):
    product.use(RankParams(title_presence=0.0))
    assert product(question)[0] == "t1"  # the paragraph naming the horse
    product.use(RankParams())
    assert product(question)[:2] == ["t2", "t1"]  # the fracture, in the horse's article


def test_title_presence_adds_no_match(product):
    product.use(RankParams())
    assert product("テンポイント") == ["t1"]  # keyword: t2 holds the word only through its title
    assert "t2" not in product("テンポイントの人気")  # nor does a question match through the title alone


def test_title_presence_changes_scores_only_within_the_titled_document(product):
    query = "トウショウボーイ OR 骨折 OR 富士山"  # no passage holds all three: an explicit OR
    product.use(RankParams(title_presence=0.0))
    off = {h.id: h.score for h in product.kb.search(query, role="secretariat").hits}
    product.use(RankParams())
    on = {h.id: h.score for h in product.kb.search(query, role="secretariat").hits}
    assert on.keys() == off.keys()
    assert on["o1"] > off["o1"] and on["t2"] == pytest.approx(off["t2"])  # t2's title names neither word
    assert np.isfinite(list(on.values())).all()
