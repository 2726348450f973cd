"""Crash safety (SIGKILL at random points, also during the first import into a new data directory) and
concurrency (readers during writes, two writers at once)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from indexer import archive
from indexer.archive import check, files
from indexer.archive.datadir import DataDir
from indexer.index.store import Index
from indexer.search.kb import KnowledgeBase

from helpers import write_corpus

KB = [sys.executable, "-c", "from indexer.cli.commands import main; main()"]
QUERIES = ["内製化", "ハヤブサ", "ツバメ", "推進体制", "カワセミ"]
ROLES = ("public", "member")
WORDS = ["クラウド契約", "内製化", "推進体制", "人材育成", "防災", "予算編成", "ガバメントクラウド", "標準化",
         "住民サービス", "庁内公募"]


def big_transcript(path: Path, marker: str, chars: int = 50_000) -> Path:
    """A long transcript (≈ `chars` characters, three speakers) mentioning `marker` in every turn."""
    lines = ["---", "id: big", "session: 2", "type: transcript", "visibility: public", "title: 長い議事録", "---",
             "## ディスカッション"]
    n = i = 0
    speakers = ["【北条座長】", "佐伯：", "田村："]
    while n < chars:
        line = (f"{speakers[i % 3]}第{i}の論点として{WORDS[i % 10]}と{WORDS[(i * 7 + 3) % 10]}について"
                f"議論しました。{marker}の進捗も確認しました。")
        lines.append(line)
        n += len(line)
        i += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(data: DataDir) -> tuple:
    """What a searcher sees: hit ids and totals of a few queries for two roles, and the documents."""
    ix = Index(data.index)  # must open as is: no recovery step before reading
    kb = KnowledgeBase(ix)
    out = []
    for role in ROLES:
        for q in QUERIES:
            r = kb.search(q, role=role, page_size=20)
            out.append((role, q, r.total, tuple(h.id for h in r.hits)))
    meta = ix.document_meta("big")
    return tuple(out), (meta or {}).get("fingerprint")


def env(data: DataDir, **extra) -> dict:
    """The environment of a `kb` child process working on `data`."""
    base = {k: v for k, v in os.environ.items() if k not in ("KB_DATA", "KB_INDEX")}
    return {**base, "KB_DATA": str(data.root), "KB_USER": "test", **extra}


@pytest.fixture
def setup(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    data = DataDir.at(tmp_path / "data")
    archive.index_corpus(corpus, data)
    for v in ("v1", "v2"):
        (tmp_path / "in" / v).mkdir(parents=True)
    v1 = big_transcript(tmp_path / "in" / "v1" / "big.md", "ハヤブサ")
    v2 = big_transcript(tmp_path / "in" / "v2" / "big.md", "ツバメ")
    return data, v1, v2


def test_sigkill_at_random_points_leaves_a_committed_state_and_rerun_converges(setup):
    """`kb add` (new document), `kb add` (replace) and `kb rebuild`, each killed at random moments."""
    data, v1, v2 = setup
    rng = random.Random(20251127)
    e = env(data)
    empty = snapshot(data)
    archive.add_files(data, [v1])
    with_v1 = snapshot(data)
    archive.add_files(data, [v2])
    with_v2 = snapshot(data)
    assert len({empty, with_v1, with_v2}) == 3
    archive.add_files(data, [v1])

    cases = [  # (name, commands alternating before→after, reset to the before-state, before, after, reruns)
        ("add", [[*KB, "add", str(v1)]], lambda: archive.remove(data, "big"), [empty], [with_v1],
         [lambda: archive.add_files(data, [v1])]),
        # a replace in both directions (v1 → v2, then v2 → v1): each rerun is the next run's before-state
        ("replace", [[*KB, "add", str(v2)], [*KB, "add", str(v1)]], lambda: None, [with_v1, with_v2],
         [with_v2, with_v1], [lambda: archive.add_files(data, [v2]), lambda: archive.add_files(data, [v1])]),
        ("rebuild", [[*KB, "rebuild"]], lambda: None, [with_v1], [with_v1], [lambda: archive.rebuild(data)]),
    ]
    runs = {"add": 6, "replace": 6, "rebuild": 4}  # an even number of replaces ends on v1
    kills = 0
    seen: dict[str, dict[str, int]] = {}
    for name, cmds, reset, befores, afters, reruns in cases:
        reset()
        assert snapshot(data) == befores[0]
        t0 = time.monotonic()
        subprocess.run(cmds[0], env=e, check=True, capture_output=True)
        duration = time.monotonic() - t0
        assert snapshot(data) == afters[0]
        reruns[-1]()  # back to the first before-state
        counts = seen.setdefault(name, {"before": 0, "after": 0, "finished": 0, "seconds": round(duration, 2)})
        k = attempts = 0
        while k < runs[name] and attempts < runs[name] + 4:  # a run that finished first is not a kill
            attempts += 1
            j = k % len(cmds)
            reset()
            proc = subprocess.Popen(cmds[j], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.2, 0.95) * duration)  # Python start-up is ~0.2 of the run
            proc.send_signal(signal.SIGKILL)
            code = proc.wait()
            kills += code == -signal.SIGKILL
            k += code == -signal.SIGKILL or len(cmds) > 1  # a replace alternates direction on every run
            state = snapshot(data)
            assert state in (befores[j], afters[j]), f"{name}: the index shows neither the old nor the new state"
            counts["finished" if code == 0 else ("after" if state == afters[j] else "before")] += 1
            reruns[j]()
            assert check.check(data) == []
            assert snapshot(data) == afters[j]
    print(f"\nSIGKILL: {kills} kills; states seen {seen}")
    assert kills >= 15
    # the index writes really were interrupted: some kills left the old state
    assert sum(c["before"] for c in seen.values()) >= 3


def test_readers_never_fail_while_a_writer_adds_replaces_removes_and_rebuilds(setup):
    data, big1, _ = setup
    # smaller transcripts (5,000 characters) so the writer commits many times even on a busy machine
    v1 = big_transcript(big1.parent / "small1.md", "ハヤブサ", chars=5_000)
    v2 = big_transcript(big1.parent / "small2.md", "ツバメ", chars=5_000)
    stop = threading.Event()
    ops = [0] * 4
    errors: list[str] = []
    seconds = float(os.environ.get("KB_TEST_CONCURRENCY_SECONDS", "10"))
    full = {}
    for v, q in ((v1, "ハヤブサ"), (v2, "ツバメ")):
        archive.add_files(data, [v])
        full[q] = KnowledgeBase(Index(data.index)).search(q).total
    assert all(full.values())

    def reader(k: int):
        kb = KnowledgeBase(Index(data.index))
        rnd = random.Random(k)
        while not stop.is_set():
            try:
                q = rnd.choice(QUERIES)
                r = kb.search(q, role=rnd.choice(ROLES))
                # one committed state: the big document is wholly v1, wholly v2 or absent
                if q in full and r.total not in (0, full[q]):
                    errors.append(f"partial state: {q} {r.total} of {full[q]}")
                kb.document("t1", role="member")
                ops[k] += 1
            except Exception as e:  # noqa: BLE001 - every error is a failure of the test
                errors.append(f"{type(e).__name__}: {e}")

    writes = {"add": 0, "rebuild": 0, "remove": 0}

    def writer():
        i = 0
        while not stop.is_set():
            try:
                if i % 5 == 4:
                    archive.rebuild(data)
                    writes["rebuild"] += 1
                elif i % 5 == 3:
                    archive.remove(data, "big")
                    writes["remove"] += 1
                else:
                    archive.add_files(data, [v1 if i % 2 else v2])
                    writes["add"] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(f"writer {type(e).__name__}: {e}")
            i += 1

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    print(f"\nconcurrency {seconds:.0f} s: reader ops {ops} (total {sum(ops)}), writes {writes}, errors {len(errors)}")
    assert not errors, errors[:5]
    assert sum(ops) > 40 and writes["add"] >= 3 and writes["rebuild"] >= 1
    assert check.check(data) == []


def test_second_writer_waits_then_proceeds_or_says_busy(setup, tmp_path):
    data, v1, v2 = setup
    data_dir = data.root
    held = threading.Event()
    release = threading.Event()

    def hold():
        with files.write_lock(data_dir):
            held.set()
            release.wait(20)

    # 1. waits (bounded) and proceeds once the other writer is done
    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    timer = threading.Timer(1.5, release.set)
    timer.start()
    t0 = time.monotonic()
    r = subprocess.run([*KB, "add", str(v1)], env=env(data, KB_WRITE_TIMEOUT="20"), capture_output=True,
                       text=True)
    waited = time.monotonic() - t0
    t.join()
    assert r.returncode == 0 and "追加" in r.stdout, r.stderr
    assert waited >= 1.4

    # 2. says clearly that the archive is busy when the wait is over (no traceback, no LockError)
    held.clear()
    release.clear()
    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    t0 = time.monotonic()
    r = subprocess.run([*KB, "add", str(v2)], env=env(data, KB_WRITE_TIMEOUT="0.5"), capture_output=True,
                       text=True)
    busy = time.monotonic() - t0
    release.set()
    t.join()
    assert r.returncode == 1
    assert "他の更新作業" in r.stderr and "KB_WRITE_TIMEOUT" in r.stderr
    assert "Traceback" not in r.stderr and "LockError" not in r.stderr
    assert KnowledgeBase(Index(data.index)).search("ツバメ").total == 0  # nothing of v2 was written
    assert check.check(data) == []

    # 3. two writers pressing "publish" at once: both succeed, one after the other
    other = tmp_path / "in" / "other.md"
    other.write_text("---\nid: other\ntitle: 別の文書\n---\nオンライン申請の話です。\n", encoding="utf-8")
    t0 = time.monotonic()
    procs = [subprocess.Popen([*KB, "add", str(f)], env=env(data), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in (v2, other)]
    outs = [p.communicate(60) for p in procs]
    both = time.monotonic() - t0
    assert [p.returncode for p in procs] == [0, 0], outs
    assert check.check(data) == []
    ids = set(Index(data.index).doc_ids())
    assert {"big", "other"} <= ids
    print(f"\nwriter lock: waited {waited:.2f} s then proceeded; busy after {busy:.2f} s (timeout 0.5 s); "
          f"two concurrent adds in {both:.2f} s")


def big_jsonl(path: Path, marker: str, chars: int) -> Path:
    """A JSON-lines corpus (≈ `chars` characters, 40 turns per meeting) mentioning `marker` in every turn."""
    rows, n, i = [], 0, 0
    while n < chars:
        text = (f"第{i}の論点として{WORDS[i % 10]}と{WORDS[(i * 7 + 3) % 10]}について伺います。"
                f"{marker}の進捗と{WORDS[(i * 3 + 1) % 10]}の見通しもお示しください。")
        rows.append({"id": f"j-{i}", "title": f"定例会 {i // 40}", "text": text, "date": "2025-02-01",
                     "meeting": f"定例会{i // 40}", "speaker": "一番（山田君）" if i % 2 == 0 else "知事（川上君）"})
        n += len(text)
        i += 1
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _kb_run(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*KB, "--data", str(data), *args], env=env(DataDir.at(data)), capture_output=True,
                          text=True, timeout=300)


def _stats(data: Path) -> dict:
    r = _kb_run(data, "stats", "--json")
    assert r.returncode == 0, r.stderr
    return {k: v for k, v in json.loads(r.stdout).items() if k != "index"}


@pytest.mark.parametrize("kind", ["import", "add"])
def test_sigkill_during_a_first_import_into_a_new_data_directory(tmp_path, kind):
    """`kb import` (two build processes) or `kb add` into a new data directory, killed (the whole process group)
    while its index is written: search then says 0 件 without an error, `kb check` names what is missing,
    and rerunning the command gives the `kb stats` of a clean run into a fresh directory."""
    (tmp_path / "in").mkdir()
    if kind == "import":
        source = big_jsonl(tmp_path / "in" / "big.jsonl", "ハヤブサ", chars=400_000)
        cmd = ["import", str(source), "--procs", "2"]
    else:
        source = big_transcript(tmp_path / "in" / "big.md", "ハヤブサ", chars=200_000)
        cmd = ["add", str(source)]
    t0 = time.monotonic()
    assert _kb_run(tmp_path / "clean", *cmd).returncode == 0
    duration = time.monotonic() - t0
    clean = _stats(tmp_path / "clean")
    assert clean["documents"] >= 1 and not _kb_run(tmp_path / "clean", "search", "ハヤブサ").stdout.startswith("0 件")
    rng = random.Random(20251130)
    kills = before_commit = 0
    for k in range(6):
        if kills == 2:
            break
        data = tmp_path / f"new{k}"
        proc = subprocess.Popen([*KB, "--data", str(data), *cmd], env=env(DataDir.at(data)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # the source is kept first, then the index written: kill at a random moment after the source is in place
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and not (
                (data / "sources").is_dir() and [p for p in (data / "sources").iterdir() if not p.name.startswith(".")]):
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15) * duration)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the build processes too
        except ProcessLookupError:
            pass
        if proc.wait() != -signal.SIGKILL:
            continue  # it finished first: not a kill
        kills += 1
        search = _kb_run(data, "search", "ハヤブサ")
        assert search.returncode == 0 and not search.stderr, search.stderr
        if search.stdout.startswith("0 件"):  # killed before the first commit: an empty index that opens
            before_commit += 1
            assert _stats(data)["documents"] == 0
            r = _kb_run(data, "check")
            assert r.returncode == 1 and "索引にない文書があります" in r.stdout and "Traceback" not in r.stderr
        rerun = _kb_run(data, *cmd)
        assert rerun.returncode == 0, rerun.stderr
        assert _stats(data) == clean
        assert _kb_run(data, "check").returncode == 0
        assert not [p for p in data.iterdir() if p.name.startswith(".")]  # no half-made directory left
    print(f"\nfirst {kind}: {kills} kills, {before_commit} before the first commit (clean run {duration:.1f} s)")
    assert kills == 2 and before_commit >= 1
