"""The archive: sources kept with their metadata, rebuild, check, export/import, safe extraction, audit."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import pytest

from indexer import archive
from indexer.archive import audit, backup, check, files, kept
from indexer.archive.datadir import DataDir
from indexer.cli.commands import main
from indexer.errors import IndexError_, IngestError
from indexer.index.store import VERSION_FILE, Index
from indexer.search.kb import KnowledgeBase

from helpers import write_corpus

QUERIES = ["内製化", "推進体制", "カワセミ", "翠嵐", "LGWAN", "防災 予算", "佐伯", "speaker:田村 人材"]


def kb(args, capsys, index, monkeypatch=None):
    with pytest.raises(SystemExit) as e:
        main(["--index", str(index), *args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def results(index_dir) -> dict:
    k = KnowledgeBase(Index(index_dir))
    return {(q, role): [h.id for h in k.search(q, role=role, page_size=50).hits]
            for q in QUERIES for role in ("public", "member", "secretariat")}


@pytest.fixture
def data(tmp_path, capsys, monkeypatch):
    """A data directory filled by the CLI: index of the corpus, one add with flags, one JSONL import."""
    monkeypatch.setenv("KB_USER", "jimukyoku")
    corpus = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "data" / "index"
    assert kb(["index", str(corpus)], capsys, index_dir)[0] == 0
    extra = tmp_path / "in" / "n.md"
    extra.parent.mkdir()
    extra.write_text("---\nid: n1\n---\nLGWAN の話。防災の予算も。\n", encoding="utf-8")
    assert kb(["add", str(extra), "--session", "2", "--title", "追加の報告"], capsys, index_dir)[0] == 0
    jl = tmp_path / "in" / "c.jsonl"
    jl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "L1", "title": "委員会", "text": "○田村委員　人材の確保について伺います。", "speaker": "委員（田村）",
         "date": "2025-02-01", "meeting": "総務委員会"},
        {"id": "L2", "title": "委員会", "text": "○佐伯局長　庁内公募で確保しました。", "speaker": "局長（佐伯）",
         "date": "2025-02-01", "meeting": "総務委員会"},
    ]) + "\n", encoding="utf-8")
    assert kb(["import", str(jl)], capsys, index_dir)[0] == 0
    return index_dir, corpus, extra, jl


def test_sources_are_kept_with_metadata_and_audited(data, capsys):
    index_dir, corpus, extra, jl = data
    root = index_dir.parent
    assert (root / "sessions.yaml").read_bytes() == (corpus / "sessions.yaml").read_bytes()
    for rel, doc_id in (("s01/report.md", "r1"), ("s01/transcript.md", "t1"), ("s02/members.md", "m2")):
        src = root / "sources" / doc_id
        assert (src / (corpus / rel).name).read_bytes() == (corpus / rel).read_bytes()
        meta = json.loads((src / "meta.json").read_text(encoding="utf-8"))
        assert meta["doc_ids"] == [doc_id] and meta["catalogue"] == "shared"
        assert meta["sha256"] == files.sha256((corpus / rel).read_bytes())
    meta = json.loads((root / "sources" / "n1" / "meta.json").read_text(encoding="utf-8"))
    assert meta["overrides"] == {"session": 2, "title": "追加の報告"}
    assert (root / "sources" / "n1" / "n.md").read_bytes() == extra.read_bytes()
    jdirs = [d for d in (root / "sources").iterdir() if d.name.startswith("_jsonl-")]
    assert len(jdirs) == 1 and (jdirs[0] / "c.jsonl").read_bytes() == jl.read_bytes()
    log = audit.entries(root)
    assert {(e["action"], e["doc_id"]) for e in log} >= {("index", "t1"), ("add", "n1"),
                                                         ("import", "2025-02-01-総務委員会")}
    assert all(e["actor"] == "jimukyoku" and len(e["file_hash"]) == 64 for e in log)
    # replace, remove: the stored source follows, each action is logged
    extra.write_text("---\nid: n1\n---\nLGWAN の話を差し替え。\n", encoding="utf-8")
    assert "差し替え" in kb(["add", str(extra)], capsys, index_dir)[1]
    assert "差し替え" in (root / "sources" / "n1" / "n.md").read_text(encoding="utf-8")
    assert kb(["remove", "n1"], capsys, index_dir)[0] == 0
    assert not (root / "sources" / "n1").exists()
    assert [e["action"] for e in audit.entries(root)][-2:] == ["replace", "remove"]
    assert kb(["check"], capsys, index_dir)[0] == 0
    # a document of the JSONL removed: the JSONL stays, minus that document, and a rebuild agrees
    assert kb(["remove", "2025-02-01-総務委員会"], capsys, index_dir)[0] == 0
    assert not [d for d in (root / "sources").iterdir() if d.name.startswith("_jsonl-")]
    assert kb(["check"], capsys, index_dir)[0] == 0


def test_names_are_sanitized_no_path_traversal(tmp_path):
    for bad in ("../../etc/passwd", "..", ".", "a/b\\c.md", "/abs.md", "x\x00y.md", ".hidden.md", "ｱ" * 300 + ".md"):
        name = files.safe_name(bad)
        assert name and "/" not in name and "\\" not in name and "\x00" not in name
        assert not name.startswith(".") and len(name.encode()) <= 200
    assert files.safe_name("報告.md") == "報告.md"
    for doc_id in ("..", ".", "a/../b", "_x", "x" * 500):
        key = kept.source_key(doc_id)
        assert "/" not in key and key not in (".", "..") and not key.startswith(".")
    # a JSONL whose ids would be dangerous directory names stays inside sources/
    jl = tmp_path / "..evil.jsonl"
    jl.write_text(json.dumps({"id": "..", "text": "防災の話"}) + "\n", encoding="utf-8")
    data = DataDir.at(tmp_path / "data")
    archive.import_jsonl(data, jl)
    stored = list((tmp_path / "data" / "sources").rglob("*"))
    assert stored and all((tmp_path / "data" / "sources") in p.parents for p in stored)
    assert check.check(data) == []
    archive.remove(data, "..")
    assert check.check(data) == [] and not list((tmp_path / "data" / "sources").iterdir())


@pytest.mark.parametrize("damage", ["missing", "corrupt", "version"])
def test_rebuild_restores_a_missing_corrupt_or_old_index(data, capsys, damage):
    index_dir = data[0]
    before = results(index_dir)
    if damage == "missing":
        shutil.rmtree(index_dir)
    elif damage == "corrupt":
        for f in index_dir.iterdir():
            if f.name != VERSION_FILE:
                f.write_bytes(b"\x00garbage" * 10)
    else:
        (index_dir / VERSION_FILE).write_text(json.dumps({"schema": 0, "analyzer": "old"}))
        code, _, err = kb(["search", "内製化"], capsys, index_dir)
        assert code == 1 and "作り直して" in err and "kb rebuild" in err
        code, _, err = kb(["add", str(data[2])], capsys, index_dir)
        assert code == 1 and "kb rebuild" in err and "Traceback" not in err
    code, _, err = kb(["check"], capsys, index_dir)
    assert code == 1
    code, out, err = kb(["rebuild"], capsys, index_dir)
    assert code == 0 and "作り直しました" in out, err
    assert results(index_dir) == before
    assert kb(["check"], capsys, index_dir)[:2] == (0, f"索引と保存された原本は一致しています: {index_dir}\n")
    assert audit.entries(index_dir.parent)[-1]["action"] == "rebuild"


def test_check_reports_every_difference_in_japanese(data, capsys):
    index_dir = data[0]
    root = index_dir.parent
    from indexer.models import Document, Segment

    Index(index_dir).put([Document(id="stray", segments=[Segment(order=0, text="原本のない文書")])])
    shutil.rmtree(root / "sources" / "r1")
    (root / "sources" / "m2" / "members.md").write_bytes(b"tampered")
    meta_path = root / "sources" / "t1" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["overrides"] = {"title": "別の題名"}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    code, out, _ = kb(["check"], capsys, index_dir)
    assert code == 1
    assert "原本のない文書が索引にあります: stray" in out and "原本のない文書が索引にあります: r1" in out
    assert "ハッシュ不一致" in out and "索引の内容が原本と異なります: t1" in out and "kb rebuild" in out
    code, out, _ = kb(["check", "--json"], capsys, index_dir)
    assert code == 1 and len(json.loads(out)["problems"]) == 4
    # a broken source stops the rebuild with its name, leaving the index as it was
    code, _, err = kb(["rebuild"], capsys, index_dir)
    assert code == 1 and "m2" in err
    assert "stray" in Index(index_dir).doc_ids()


def test_export_then_import_archive_gives_the_same_results(data, capsys, tmp_path):
    index_dir = data[0]
    root = index_dir.parent
    (root / "synonyms.yaml").write_text("内製化: [自前開発]\n", encoding="utf-8")
    before = results(index_dir)
    out = tmp_path / "backup.tar.gz"
    code, text, err = kb(["export", str(out)], capsys, index_dir)
    assert code == 0 and "書き出しました" in text, err
    with tarfile.open(out) as tf:
        names = tf.getnames()
        manifest = json.loads(tf.extractfile("manifest.json").read())
    assert names[0] == "manifest.json" and {"sessions.yaml", "synonyms.yaml", "audit.log"} <= set(names)
    assert manifest["files"]["sessions.yaml"]["sha256"] == files.sha256((root / "sessions.yaml").read_bytes())
    new_index = tmp_path / "elsewhere" / "index"
    code, text, err = kb(["import-archive", str(out)], capsys, new_index)
    assert code == 0 and "復元しました" in text, err
    assert results(new_index) == before
    assert (new_index.parent / "synonyms.yaml").read_text(encoding="utf-8") == "内製化: [自前開発]\n"
    assert kb(["check"], capsys, new_index)[0] == 0
    actions = [e["action"] for e in audit.entries(new_index.parent)]
    assert "index" in actions and actions[-1] == "import-archive"
    # restoring over an existing data directory replaces its sources and index
    code, *_ = kb(["remove", "r1"], capsys, index_dir)
    assert kb(["import-archive", str(out)], capsys, index_dir)[0] == 0
    assert results(index_dir) == before and kb(["check"], capsys, index_dir)[0] == 0


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tf:
        for m, data in members:
            tf.addfile(m, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_import_archive_rejects_unsafe_or_altered_archives(data, capsys, tmp_path):
    index_dir = data[0]
    root = index_dir.parent
    good = tmp_path / "good.tar.gz"
    backup.export(DataDir.of_index(index_dir), good)
    with tarfile.open(good) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    manifest = json.loads(members[0][1])
    link = tarfile.TarInfo("sources/r1/evil.md")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("sources/r1/hard.md")
    hard.type, hard.linkname = tarfile.LNKTYPE, "sources/r1/report.md"
    fifo = tarfile.TarInfo("sources/r1/fifo")
    fifo.type = tarfile.FIFOTYPE
    altered = [(m, d.replace(b"LGWAN", b"XXXXX") if m.name.endswith("n.md") else d) for m, d in members]
    no_manifest = members[1:]
    extra_manifest = json.dumps({**manifest, "files": {**manifest["files"], "sources/zz/z.md": {"sha256": "0"}}})
    cases = {
        "absolute": [*members, _file("/tmp/kb-evil")],
        "dotdot": [*members, _file("sources/../../evil")],
        "symlink": [*members, (link, None)],
        "hardlink": [*members, (hard, None)],
        "fifo": [*members, (fifo, None)],
        "unexpected": [*members, _file("index/_MAIN_1.toc")],
        "altered": altered,
        "unlisted": [*members, _file("sources/r1/extra.md")],
        "missing": [_file("manifest.json", extra_manifest.encode()), *members[1:]],
        "no-manifest": no_manifest,
    }
    before = results(index_dir)
    sources_before = sorted(p.relative_to(root) for p in (root / "sources").rglob("*"))
    for name, ms in cases.items():
        path = _tar(tmp_path / f"{name}.tar.gz", ms)
        code, _, err = kb(["import-archive", str(path)], capsys, index_dir)
        assert code == 1 and err.startswith("kb: アーカイブ") and "Traceback" not in err, (name, err)
    assert not (tmp_path / "kb-evil").exists() and not (root.parent / "evil").exists()
    (tmp_path / "not.tar.gz").write_bytes(b"\x1f\x8b garbage")
    assert kb(["import-archive", str(tmp_path / "not.tar.gz")], capsys, index_dir)[0] == 1
    with pytest.raises(IngestError, match="大きすぎます"):
        backup.extract(good, tmp_path / "x", max_member=10)
    assert results(index_dir) == before
    assert sorted(p.relative_to(root) for p in (root / "sources").rglob("*")) == sources_before
    assert not [p for p in root.iterdir() if p.name.startswith(".kb-")]


def test_failed_write_changes_nothing_and_index_missing_needs_rebuild(data, capsys, tmp_path):
    index_dir, _, extra, _ = data
    root = index_dir.parent
    before = results(index_dir)
    snapshot = {p: p.read_bytes() for p in (root / "sources").rglob("*") if p.is_file()}
    bad = tmp_path / "in" / "bad.vtt"
    bad.write_bytes(b"not a caption file")
    code, out, err = kb(["add", str(extra), str(bad)], capsys, index_dir)
    assert code == 1 and "何も書き込んでいません" in err
    assert results(index_dir) == before
    assert {p: p.read_bytes() for p in (root / "sources").rglob("*") if p.is_file()} == snapshot
    shutil.rmtree(index_dir)
    with pytest.raises(IndexError_, match="kb rebuild"):
        archive.add_files(DataDir.of_index(index_dir), [extra])


def test_rebuild_reports_progress_in_steps(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    data = DataDir.at(tmp_path / "data")
    seen: list[tuple[float, str]] = []
    archive.index_corpus(corpus, data, progress=lambda f, label: seen.append((f, label)))
    assert seen[0][0] == 0.0 and seen[-1] == (1.0, "完了（文書 3 件）")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    assert any("索引に追加" in label for _, label in seen)
    seen.clear()
    archive.rebuild(data, progress=lambda f, label: seen.append((f, label)))
    assert seen[0] == (0.0, "保存された原本を読んでいます") and seen[-1][0] == 1.0
