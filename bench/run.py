"""`make bench`: every scaling figure of the project against a naive baseline, per size.

    python -m bench.run --sizes 10000,100000,1000000 [--out bench/out] [--results bench/RESULTS.md]

Each size builds a fresh corpus (dump, RSS and Hugging Face JSON files, ~10% of papers in
several sources), ingests it into a fresh database and measures search, ingest and dedup,
alert matching, digest fan-out through the local Slack stand-in, slash-command ack
latency and memory. Figures go to a JSON file per size and a table in RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from bench.corpus import (
    FAMOUS,
    Paper,
    _arxiv_id,
    generate,
    variant,
    with_duplicates,
    with_famous,
    write_dump,
    write_hf_json,
    write_rss,
)
from bench.slowloris import free_port

PAPERS = str(Path(sys.executable).with_name("papers"))
FILE_PAPERS = 50_000  # papers per input file, like a large daily dump
FEED_PAPERS = 15_000  # papers per RSS or JSON file (~21 MB, under the 25 MB cap)
QUERY_RUNS = 40
NEXT_DAY = 50_000  # entries in the next-day file, ~10% of them copies of stored papers
SIMILAR_RUNS = 200


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, in the same unit."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def build_corpus(n: int, folder: Path) -> tuple[list[list[Paper]], int]:
    """Files of papers in three formats; copies of ~10% land in a later file of another format."""
    papers = with_famous(generate(n))
    copies = with_duplicates(papers)[n:]
    rng = random.Random(5)
    files: list[list[Paper]] = [papers[i : i + FILE_PAPERS] for i in range(0, n, FILE_PAPERS)]
    extra: list[list[Paper]] = [[] for _ in files]
    for copy in copies:
        home = copy.truth // FILE_PAPERS
        # Always another file than the original's: one input lists each paper once.
        other = (home + 1 + rng.randrange(max(len(files) - 1, 1))) % len(files)
        extra[other].append(copy)
    # A copy in the same file as its original is possible only with one file; put those in
    # a file of their own so each input holds each paper once.
    groups = [f for f in files]
    if len(files) == 1:
        groups.append(extra[0])
    else:
        groups = [f + e for f, e in zip(files, extra, strict=True)]
    writers = [write_dump, write_rss, write_hf_json]
    inputs: list[list[Paper]] = []
    for index, group in enumerate(groups):
        writer = writers[index % 3]
        suffix = {write_dump: "txt", write_rss: "xml", write_hf_json: "json"}[writer]
        if writer is write_dump:
            write_dump(
                group, folder / f"{index:03d}.{suffix}", date(2026, 3, 1) + timedelta(days=index)
            )
            inputs.append(group)
            continue
        # Feeds and JSON are parsed whole and capped at 25 MB (jobs.fetch.MAX_BYTES): a large
        # group is written as several files, as a source would page it.
        for part, start in enumerate(range(0, len(group), FEED_PAPERS)):
            writer(group[start : start + FEED_PAPERS], folder / f"{index:03d}-{part:02d}.{suffix}")
            inputs.append(group[start : start + FEED_PAPERS])
    groups = inputs
    return groups, len(copies)


# Runs the `papers` CLI and, as it exits, reports the process's own peak memory (VmHWM of
# its own address space: getrusage in or after a child forked from this big process would
# report this process's size) and the bytes it made the disk write (with those of its
# children once reaped: Linux adds them, as a large input's index writer process).
_MEASURED = """
import atexit, sys
def _report():
    status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    io = dict(l.split(":", 1) for l in open("/proc/self/io") if ":" in l)
    sys.stderr.write(f"\\nMEASURED {status['VmHWM'].split()[0]} {io['write_bytes'].strip()}\\n")
atexit.register(_report)
from papers.cli import main
sys.argv[0] = "papers"
main()
"""


def _rss_split(pid: int) -> tuple[int, int] | None:
    """A process's resident anonymous and file-backed memory (KB) now, with its child's (a
    large input's index writer process), or None once gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        anon, file = int(fields["RssAnon"].split()[0]), int(fields["RssFile"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    for child in _children(pid):
        split = _rss_split(child)
        if split:
            anon, file = anon + split[0], file + split[1]
    return anon, file


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(c) for c in children.read().split()]
    except (OSError, ValueError):
        return []


def run_measured(*args: str) -> tuple[subprocess.CompletedProcess, float, float, float, dict]:
    """Run `papers args`; the result, seconds, the child's own peak RSS (MB), MB written, and
    its peak split, sampled every 0.2 s: anonymous memory (the heap: Python, SQLite, the
    index writer) apart from file-backed pages (mapped index segments, reclaimable)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _MEASURED, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The pipes are drained on a thread: a child blocked on a full pipe would stall.
    out: dict[str, str] = {}
    drain = threading.Thread(
        target=lambda: out.update(zip(("stdout", "stderr"), child.communicate(), strict=True))
    )
    drain.start()
    anon_kb = file_kb = top_kb = 0
    while drain.is_alive():
        split = _rss_split(child.pid)
        if split:
            anon_kb = max(anon_kb, split[0])
            if sum(split) > top_kb:
                top_kb, file_kb = sum(split), split[1]
        drain.join(0.2)
    seconds = time.perf_counter() - start
    done = subprocess.CompletedProcess(child.args, child.returncode, out["stdout"], out["stderr"])
    done.check_returncode()
    line = [x for x in done.stderr.splitlines() if x.startswith("MEASURED ")][-1]
    peak_kb, written = (int(v) for v in line.split()[1:])
    split = {"peak_anon_mb": anon_kb / 1024, "file_mb_at_peak": file_kb / 1024}
    return done, seconds, peak_kb / 1024, written / 2**20, split


def ingest(db_path: Path, target: Path) -> dict:
    """Ingest files with the real CLI; wall time, the child's peak memory and writes, and
    the longest write transaction (how long the bot may wait for the lock)."""
    done, seconds, peak_mb, written_mb, split = run_measured(
        "--db", str(db_path), "ingest", "--json", str(target)
    )
    reports = json.loads(done.stdout)
    entries = sum(r["parsed"] for r in reports)
    # A large input's index is written by a process of its own, at the same time: its peak
    # counts on top of the CLI's own (an upper bound of the two together).
    index_mb = max((r.get("index_peak_mb", 0) for r in reports), default=0)
    return {
        "seconds": seconds,
        "entries": entries,
        "new_papers": sum(r["new_papers"] for r in reports),
        "merged": sum(r["merged"] for r in reports),
        "papers_per_s": entries / seconds,
        "peak_rss_mb": peak_mb + index_mb,
        "index_process_peak_mb": index_mb,
        **split,
        "written_mb": written_mb,
        "written_kb_per_paper": written_mb * 1024 / entries,
        "longest_write_s": max((r.get("longest_write_s", 0) for r in reports), default=0),
        "longest_write_cpu_s": max((r.get("longest_write_cpu_s", 0) for r in reports), default=0),
    }


def bulk_floor(groups: list[list[Paper]], folder: Path) -> dict:
    """The physical floor of ingest: the same entries bulk-inserted into a fresh SQLite table
    (one transaction, executemany, no dedup, no other table or index), and the same plus a
    tantivy index of their titles and abstracts (en_stem, one commit), same run."""
    import tantivy

    papers = [p for group in groups for p in group]
    rows = [
        (
            p.arxiv_id,
            p.title,
            p.abstract,
            json.dumps(list(p.authors)),
            p.published.isoformat(),
            p.upvotes,
        )
        for p in papers
    ]
    path = folder / "floor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE papers (id INTEGER PRIMARY KEY, arxiv_id TEXT, title TEXT, abstract TEXT,"
        " authors TEXT, published TEXT, upvotes INTEGER)"
    )
    with conn:
        conn.executemany(
            "INSERT INTO papers (arxiv_id, title, abstract, authors, published, upvotes)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()
    sqlite_s = time.perf_counter() - start
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("abstract", tokenizer_name="en_stem")
    index_path = folder / "floor.index"
    shutil.rmtree(index_path, ignore_errors=True)
    index_path.mkdir()
    start = time.perf_counter()
    writer = tantivy.Index(builder.build(), path=str(index_path)).writer(
        heap_size=128_000_000, num_threads=1
    )
    for i, p in enumerate(papers):
        writer.add_document(tantivy.Document(id=i, title=p.title, abstract=p.abstract))
    writer.commit()
    writer.wait_merging_threads()
    index_s = time.perf_counter() - start
    shutil.rmtree(index_path, ignore_errors=True)
    path.unlink(missing_ok=True)
    return {
        "entries": len(papers),
        "sqlite_papers_per_s": len(papers) / sqlite_s,
        "with_index_papers_per_s": len(papers) / (sqlite_s + index_s),
    }


def next_day(
    db_path: Path, n: int, out: Path, groups: list[list[Paper]], entries: int = NEXT_DAY
) -> dict:
    """A next day's dump of `entries` entries (10% copies of distinct stored papers, retyped
    as another source lists them) ingested into a copy of the database and its index."""
    rng = random.Random(17)
    stored = groups[0]
    copies = [variant(p, rng) for p in rng.sample(stored, min(entries // 10, len(stored)))]
    fresh = [
        replace(p, truth=n + 10_000_000 + i, arxiv_id=_arxiv_id(n + 100_000 + i))
        for i, p in enumerate(generate(entries - len(copies), seed=23))
    ]
    listed = fresh + copies
    rng.shuffle(listed)
    path = out / "next-day.txt"
    write_dump(listed, path, page=date(2026, 12, 1))
    work = db_path.with_name("next-day.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    start = time.perf_counter()
    with sqlite3.connect(db_path) as source, sqlite3.connect(work) as target:
        source.backup(target)
    shutil.rmtree(f"{work}.index", ignore_errors=True)
    shutil.copytree(f"{db_path}.index", f"{work}.index")
    copy_s = time.perf_counter() - start
    result = ingest(work, path)
    result["copies"] = len(copies)
    result["copy_seconds"] = copy_s
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.rmtree(f"{work}.index", ignore_errors=True)
    path.unlink(missing_ok=True)
    return result


def more_like_this(db_path: Path, runs: int = SIMILAR_RUNS) -> dict:
    """p50/p99 of "more like this" (storage.similar) for `runs` random papers."""
    from storage import connect
    from storage.similar import similar

    db = connect(db_path)
    newest = next(db.query("SELECT MAX(id) AS n FROM papers"))["n"]
    rng = random.Random(19)
    ids = [rng.randint(1, newest) for _ in range(runs)]
    similar(db, ids[0])  # the searcher opened once, as in the bot
    times, found = [], 0
    for paper_id in ids:
        start = time.perf_counter()
        found += bool(similar(db, paper_id))
        times.append((time.perf_counter() - start) * 1000)
    return {
        "runs": len(ids),
        "with_results": found,
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
    }


def _split(measured: dict) -> str:
    if "peak_anon_mb" not in measured:  # a results file from before the split was sampled
        return "not sampled"
    return f"{measured['peak_anon_mb']:.0f} / {measured['file_mb_at_peak']:.0f}"


def _folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def reindex(db_path: Path) -> dict:
    """`papers reindex`: the whole search index rebuilt from SQLite, its size on disk."""
    _, seconds, peak_mb, written_mb, split = run_measured("--db", str(db_path), "reindex")
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_mb,
        **split,
        "index_mb": _folder_mb(Path(f"{db_path}.index")),
        "written_mb": written_mb,
    }


def relevance(db_path: Path) -> dict:
    """Position of each planted famous paper for its queries (1 = first; None = not in 100)."""
    from storage import connect
    from storage.search import search

    db = connect(db_path)
    out = {}
    for title, *_, queries, _mention in FAMOUS:
        for query in queries:
            result = search(db, query, limit=100)
            titles = [p["title"] for p in result.papers]
            out[query] = {
                "position": titles.index(title) + 1 if title in titles else None,
                "total": result.total,
            }
    return out


def _scores(truth_of: dict[int, Counter]) -> dict:
    """Pairwise precision, recall and F1 of a grouping: stored paper -> truth id counts."""
    pairs = lambda k: k * (k - 1) // 2  # noqa: E731
    merged = sum(pairs(sum(c.values())) for c in truth_of.values())
    correct = sum(pairs(v) for c in truth_of.values() for v in c.values())
    per_truth: Counter = Counter()
    for c in truth_of.values():
        per_truth.update(c)
    true_pairs = sum(pairs(v) for v in per_truth.values())
    precision = correct / merged if merged else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "papers": len(truth_of)}


def dedup_quality(db_path: Path, groups: list[list[Paper]]) -> dict:
    """Pairwise precision and recall of the merges against the corpus' truth ids."""
    conn = sqlite3.connect(db_path)
    inputs = [row[0] for row in conn.execute("SELECT id FROM inputs ORDER BY id")]
    truth_of: dict[int, Counter] = {}
    for input_id, group in zip(inputs, groups, strict=True):
        rows = conn.execute(
            "SELECT paper_id FROM sightings WHERE input_id = ? ORDER BY id", [input_id]
        )
        for (paper_id,), paper in zip(rows, group, strict=True):
            truth_of.setdefault(paper_id, Counter())[paper.truth] += 1
    return _scores(truth_of)


def baseline_dedup(groups: list[list[Paper]]) -> dict:
    """The naive baseline: an exact-title dict, timed and scored the same way."""
    start = time.perf_counter()
    by_title: dict[str, int] = {}
    truth_of: dict[int, Counter] = {}
    for group in groups:
        for paper in group:
            pid = by_title.setdefault(paper.title, len(by_title))
            truth_of.setdefault(pid, Counter())[paper.truth] += 1
    seconds = time.perf_counter() - start
    entries = sum(len(g) for g in groups)
    return {**_scores(truth_of), "papers_per_s": entries / seconds}


def query_classes(db, n: int) -> dict[str, str]:
    """Words of titles and abstracts (the `words` table) picked by how many papers hold them
    in the search index: the commonest two, and a rare one in ~1% of the papers."""
    from storage import index as search_index

    searcher = search_index.searcher(db)
    rows = sorted(
        (
            (search_index.doc_freq(searcher, r["word"]), r["word"])
            for r in db.query("SELECT word FROM words WHERE length(word) >= 4")
        ),
        reverse=True,
    )
    common = rows[0][1]
    # The second word of the two-word class must be another word for the index, not another
    # form of the first ("models modelling" is one term, `model`, twice).
    stem = search_index.EN_STEM.analyze(common)
    second = next(w for _, w in rows if search_index.EN_STEM.analyze(w) != stem)
    rare = min(rows, key=lambda r: abs(r[0] - n * 0.01))[1]
    return {
        "rare": rare,
        "common": common,
        "multi-word": f"{common} {second}",
        "phrase": '"language models"',
        "prefix": common[:3] + "*",
    }


def search_latency(db_path: Path, n: int) -> dict:
    """p50/p99 of the project's search and of a LIKE scan, per query class."""
    from storage import connect
    from storage.search import search

    db = connect(db_path)
    plain = sqlite3.connect(db_path)
    classes = query_classes(db, n)
    results = {}
    for name, query in classes.items():
        ours = []
        for _ in range(QUERY_RUNS):
            start = time.perf_counter()
            total = search(db, query, limit=5).total  # exact, whatever the size
            ours.append((time.perf_counter() - start) * 1000)
        like_term = query.strip('"').rstrip("*").split()[0]
        naive = []
        for _ in range(max(3, QUERY_RUNS // 10)):
            start = time.perf_counter()
            # The naive search: scan every paper, title matches first, newest first.
            plain.execute(
                "SELECT id FROM papers WHERE title LIKE ?1 OR abstract LIKE ?1"
                " ORDER BY title LIKE ?1 DESC, id DESC LIMIT 5",
                [f"%{like_term}%"],
            ).fetchall()
            naive.append((time.perf_counter() - start) * 1000)
        results[name] = {
            "query": query,
            "total": total,
            "p50_ms": percentile(ours, 50),
            "p99_ms": percentile(ours, 99),
            "baseline_p50_ms": percentile(naive, 50),
            "baseline_p99_ms": percentile(naive, 99),
        }
    return results


def alert_matching(db_path: Path, subscriptions: int, new: int, phrases: float = 0.0) -> dict:
    """10k new papers against many keyword subscriptions: grouped queries vs one per sub,
    in a fresh process as the worker runs them. This process holds the whole corpus
    (millions of objects), and at 1M the garbage collector's passes over it added 0.5-0.8 s
    to the same call (measured): a cost of the bench, not of the worker. A `phrases` share
    of the subscriptions follow a quoted two-word phrase (respelled, matched on positions)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_alert_matching, db_path, subscriptions, new, phrases).result()


def _keywords(vocab: list[str], subscriptions: int, phrases: float) -> list[str]:
    rng = random.Random(3)
    # Zipf-like: a few popular topics, a long tail.
    weights = [1 / (i + 1) for i in range(len(vocab))]
    rng.shuffle(weights)
    cumulative = list(accumulate(weights))  # the same draws as choices(vocab, weights)
    keywords = []
    for _ in range(subscriptions):
        # Without phrases, the same draws as the runs before phrases were measured.
        if phrases and rng.random() < phrases:
            keywords.append('"' + " ".join(rng.choices(vocab, cum_weights=cumulative, k=2)) + '"')
            continue
        words = rng.choices(vocab, cum_weights=cumulative, k=rng.choice([1, 1, 2]))
        keywords.append(" ".join(words))
    return keywords


def _alert_matching(db_path: Path, subscriptions: int, new: int, phrases: float = 0.0) -> dict:
    from jobs.alerts import match_new_papers
    from storage import connect
    from storage.search import matching_since
    from storage.text import query_key

    db = connect(db_path)
    newest = next(db.query("SELECT MAX(id) AS n FROM papers"))["n"]
    after = max(newest - new, 0)
    vocab = [
        r[0]
        for r in sqlite3.connect(db_path).execute(
            "SELECT word FROM words WHERE length(word) >= 5 ORDER BY word"
        )
    ]
    keywords = _keywords(vocab, subscriptions, phrases)
    start = time.perf_counter()
    grouped = match_new_papers(db, keywords, after, newest)
    ours = time.perf_counter() - start
    # One query per subscription is slow at 1M (~24 ms each): a sample, extrapolated.
    sample = keywords[: min(len(keywords), 1000 if phrases else 5000)]
    mismatches = 0
    start = time.perf_counter()
    for k in sample:
        naive_ids = [i for i in matching_since(db, k, after) if i <= newest]
        mismatches += naive_ids != grouped[query_key(k)]
    naive = (time.perf_counter() - start) * len(keywords) / len(sample)
    return {
        "subscriptions": subscriptions,
        "new_papers": newest - after,
        "distinct_queries": len(grouped),
        "seconds": ours,
        "baseline_seconds": naive,
        "mismatches_with_baseline": mismatches,
        "baseline_extrapolated_from": len(sample),
    }


def fanout(db_path: Path, subscriptions: int, channels: int) -> dict:
    """Deliver `subscriptions` due digests over `channels` channels through the stand-in."""
    from jobs.delivery import deliver_due
    from jobs.slack import client_factory
    from slackstub import SlackStandIn
    from storage import connect
    from storage.config import Config

    work = db_path.with_name("fanout.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    with sqlite3.connect(db_path) as source, sqlite3.connect(work) as target:
        source.backup(target)  # a consistent copy, WAL included
    # Its search index too (else the first keyword digest would rebuild it, timed here).
    shutil.rmtree(f"{work}.index", ignore_errors=True)
    shutil.copytree(f"{db_path}.index", f"{work}.index")
    stub = SlackStandIn().start()
    stub.state.retry_after = 1
    config = Config(
        db_path=str(work),
        slack_bot_token=stub.token,
        slack_api_url=stub.api_url,
        empty_digest="note",
    )
    db = connect(work)
    now = datetime.now(UTC)
    rows = []
    for i in range(subscriptions):
        channel = f"C{i % channels:05d}"
        if i < channels:
            stub.add_channel(channel, channel)
        rows.append(
            (
                stub.team_id,
                f"U{i:06d}",
                channel,
                "channel",
                f"k{i}" if i % 2 else "",
                "daily",
                0,
                "09:00",
                "UTC",
                "active",
                (now - timedelta(minutes=1)).isoformat(),
                now.isoformat(),
            )
        )
    db.conn.executemany(
        "INSERT INTO subscriptions (team_id, user_id, target, kind, keywords, frequency, weekday,"
        " at_time, tz, status, next_due_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.conn.commit()
    start = time.perf_counter()
    outcomes = deliver_due(db, config, client_factory(config), now)
    seconds = time.perf_counter() - start
    per_channel = subscriptions / channels
    floor = max(0.0, (per_channel - stub.state.burst) / stub.state.rate_per_second)
    stub.stop()
    return {
        "subscriptions": subscriptions,
        "channels": channels,
        "seconds": seconds,
        "rate_limit_minimum_s": floor,
        "delivered": len(stub.state.messages),
        "outcomes": dict(outcomes),
        "http_429": stub.state.throttled,
    }


def _bot_process(db_path: Path, stub) -> tuple[subprocess.Popen, str]:
    """`papers serve` in its own process, as in production (Slack, here the stand-in and the
    clients, lives elsewhere), ready once it answers on its port."""
    port = free_port()
    env = {
        **os.environ,
        "PAPERS_DB": str(db_path),
        "SLACK_BOT_TOKEN": stub.token,
        "SLACK_SIGNING_SECRET": stub.signing_secret,
        "SLACK_API_URL": stub.api_url,
        "PAPERS_COMMANDS_PER_MINUTE": "0",
    }
    env.pop("SLACK_APP_TOKEN", None)
    bot = subprocess.Popen(
        [PAPERS, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return bot, url
        except OSError:
            time.sleep(0.1)
    bot.kill()
    raise RuntimeError("the bot did not start listening")


def ack_latency(db_path: Path, concurrency: int = 50, rounds: int = 6) -> dict:
    """Slash-command ack latency (HTTP response time) of the bot process under
    `concurrency` signed requests at once; every reply is checked to arrive. Timed from a
    fresh process, as Slack's side is: this one holds the whole corpus, and the garbage
    collector's passes over it stalled the timing threads (measured at 1M, interleaved:
    ack p99 248-250 ms timed from here, 204-211 ms with this process's objects frozen;
    129-131 ms from a fresh process, on a quieter machine)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_ack_latency, db_path, concurrency, rounds).result()


def _ack_latency(db_path: Path, concurrency: int, rounds: int) -> dict:
    from slackstub import SlackStandIn

    stub = SlackStandIn().start()
    bot, stub.app_url = _bot_process(db_path, stub)
    words = ["lora", "diffusion model", "language", "pre*", '"language models"', "transformer"]

    def one(i: int) -> float:
        start = time.perf_counter()
        sent = stub.command(words[i % len(words)], user=f"U{i}")
        failed.append(sent["status"] != 200)  # Bolt answers 404 when the ack missed its 3 s
        return (time.perf_counter() - start) * 1000

    latencies: list[float] = []
    failed: list[bool] = []
    try:
        for i in range(len(words)):  # a running bot has its index open: warm it up
            one(-1 - i)
        latencies.clear()
        failed.clear()
        with ThreadPoolExecutor(concurrency) as pool:
            for r in range(rounds):
                latencies += pool.map(one, range(r * concurrency, (r + 1) * concurrency))
        # Let every reply (posted after the ack) arrive before the stand-in goes away.
        expected = len(latencies) + len(words)
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline
            and sum(1 for posts in stub.state.responses.values() if posts) < expected
        ):
            time.sleep(0.05)
        replied = sum(1 for posts in stub.state.responses.values() if posts) - len(words)
    finally:
        bot.terminate()
        bot.wait(timeout=30)
        stub.stop()
    return {
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "not_acked": sum(failed),
        "replied": replied,
    }


PARTS = (
    "floor",
    "reindex",
    "search",
    "alerts",
    "alerts-phrases",
    "fanout",
    "ack",
    "similar",
    "next-day",
)
PHRASE_SHARE = 0.1  # of the subscriptions in the alerts-phrases part


def run_size(n: int, out: Path, skip: set[str] = frozenset()) -> dict:
    """Every figure for one corpus size (but the PARTS in `skip`)."""
    folder = out / f"corpus-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t = time.perf_counter()
    groups, copies = build_corpus(n, folder)
    print(
        f"[{n}] corpus: {sum(map(len, groups))} entries ({copies} copies) in "
        f"{time.perf_counter() - t:.0f} s",
        flush=True,
    )
    db_path = out / f"papers-{n}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(f"{db_path}.index", ignore_errors=True)
    result: dict = {"size": n, "entries": sum(map(len, groups)), "copies": copies}
    result["load_before"] = os.getloadavg()
    result["skipped"] = sorted(skip)

    def part(name: str, work) -> None:
        if name in skip:
            return
        start = time.perf_counter()
        result[name] = work()
        print(f"[{n}] {name} ({time.perf_counter() - start:.0f} s): {result[name]}", flush=True)

    part("ingest", lambda: ingest(db_path, folder))
    part("floor", lambda: bulk_floor(groups, out))
    part("reindex", lambda: reindex(db_path))
    part("relevance", lambda: relevance(db_path))
    part("dedup", lambda: dedup_quality(db_path, groups))
    part("dedup_baseline", lambda: baseline_dedup(groups))
    part("search", lambda: search_latency(db_path, n))
    part("alerts", lambda: alert_matching(db_path, 100_000, 10_000))
    part(
        "alerts-phrases",
        lambda: alert_matching(db_path, 100_000, 10_000, phrases=PHRASE_SHARE),
    )
    part("fanout", lambda: fanout(db_path, 10_000, 500))
    part("ack", lambda: ack_latency(db_path))
    part("similar", lambda: more_like_this(db_path))
    shutil.rmtree(folder, ignore_errors=True)
    part("next-day", lambda: next_day(db_path, n, out, groups))
    result["db_mb"] = (
        sum(
            Path(str(db_path) + s).stat().st_size
            for s in ("", "-wal")
            if Path(str(db_path) + s).exists()
        )
        / 2**20
    )
    result["load_after"] = os.getloadavg()
    (out / f"results-{n}.json").write_text(json.dumps(result, indent=2))
    return result


def table(results: list[dict]) -> str:
    """The RESULTS.md table: one row per figure, one column per size ("–": not run)."""
    sizes = [r["size"] for r in results]
    head = "| figure | target | " + " | ".join(f"{s:,} papers" for s in sizes) + " |"
    rows = [head, "|" + " --- |" * (2 + len(sizes))]

    def row(name: str, target: str, needs: str, fmt) -> None:
        cells = [fmt(r) if needs in r else "–" for r in results]
        rows.append(f"| {name} | {target} | " + " | ".join(cells) + " |")

    for cls in ["rare", "common", "multi-word", "phrase", "prefix"]:
        row(
            f"search p50 / p99, {cls} (ms)",
            "p99 < 50",
            "search",
            lambda r, c=cls: (
                f"{r['search'][c]['p50_ms']:.1f} / {r['search'][c]['p99_ms']:.1f} "
                f"(`{r['search'][c]['query']}`: {r['search'][c].get('total', 0):,} match; "
                f"LIKE: {r['search'][c]['baseline_p99_ms']:.0f})"
            ),
        )
    queries = [q for *_, qs, _ in FAMOUS for q in qs]
    row(
        "famous paper's position: " + ", ".join(f"`{q}`" for q in queries),
        "1 each",
        "relevance",
        lambda r: " / ".join(str(r["relevance"][q]["position"] or ">100") for q in queries),
    )
    row(
        "search index: rebuild s / size MB / peak MB",
        "",
        "reindex",
        lambda r: (
            f"{r['reindex']['seconds']:.0f} / {r['reindex']['index_mb']:.0f} / "
            f"{r['reindex']['peak_rss_mb']:.0f}"
        ),
    )
    row(
        "ingest incl. dedup + index (papers/s)",
        "",
        "ingest",
        lambda r: f"{r['ingest']['papers_per_s']:,.0f} ({r['ingest']['seconds']:.0f} s)",
    )
    row(
        "bulk-insert floor, SQLite only / + tantivy (papers/s); ingest's share of it",
        "ingest ≥ ½ floor",
        "floor",
        lambda r: (
            f"{r['floor']['sqlite_papers_per_s']:,.0f} / "
            f"{r['floor']['with_index_papers_per_s']:,.0f}; "
            f"{r['ingest']['papers_per_s'] / r['floor']['sqlite_papers_per_s']:.2f} / "
            f"{r['ingest']['papers_per_s'] / r['floor']['with_index_papers_per_s']:.2f}"
        ),
    )
    row(
        "longest ingest write transaction, wall / CPU (s)",
        "",
        "ingest",
        lambda r: (
            f"{r['ingest'].get('longest_write_s', 0):.1f} / "
            f"{r['ingest'].get('longest_write_cpu_s', 0):.1f}"
        ),
    )
    row(
        "dedup precision / recall / F1",
        "F1 ≥ 0.99",
        "dedup",
        lambda r: (
            f"{r['dedup']['precision']:.4f} / {r['dedup']['recall']:.4f} / {r['dedup']['f1']:.4f} "
            f"(exact-title dict F1 {r['dedup_baseline']['f1']:.4f})"
        ),
    )
    row(
        "alert matching, 10k new × 100k subs (s)",
        "< 2",
        "alerts",
        lambda r: (
            f"{r['alerts']['seconds']:.2f} ({r['alerts']['distinct_queries']:,} distinct; "
            f"one query per sub: {r['alerts']['baseline_seconds']:.1f})"
        ),
    )
    row(
        f"the same with {PHRASE_SHARE:.0%} of the subs a quoted two-word phrase (s)",
        "",
        "alerts-phrases",
        lambda r: (
            f"{r['alerts-phrases']['seconds']:.2f} "
            f"({r['alerts-phrases']['distinct_queries']:,} distinct; "
            f"{r['alerts-phrases']['mismatches_with_baseline']} of "
            f"{r['alerts-phrases']['baseline_extrapolated_from']:,} differ from one query per sub)"
        ),
    )
    row(
        "fan-out 10k digests / 500 channels (s)",
        "≤ 1.1 × minimum",
        "fanout",
        lambda r: (
            f"{r['fanout']['seconds']:.1f} (minimum {r['fanout']['rate_limit_minimum_s']:.0f}, "
            f"×{r['fanout']['seconds'] / max(r['fanout']['rate_limit_minimum_s'], 0.01):.2f})"
        ),
    )
    row(
        "ack p50 / p99, 50 concurrent (ms)",
        "p99 < 300",
        "ack",
        lambda r: (
            f"{r['ack']['p50_ms']:.0f} / {r['ack']['p99_ms']:.0f} "
            f"({r['ack'].get('not_acked', 0)} of {r['ack']['requests']} missed 3 s)"
        ),
    )
    row(
        "more like this p50 / p99, 200 random papers (ms)",
        "p99 < 100",
        "similar",
        lambda r: f"{r['similar']['p50_ms']:.1f} / {r['similar']['p99_ms']:.1f}",
    )
    row(
        "peak memory of ingest: the CLI's own VmHWM + its index writer process's (MB)",
        "< 1,024",
        "ingest",
        lambda r: (
            f"{r['ingest']['peak_rss_mb']:.0f} ("
            f"{r['ingest']['peak_rss_mb'] - r['ingest'].get('index_process_peak_mb', 0):.0f}"
            f" + {r['ingest'].get('index_process_peak_mb', 0):.0f})"
        ),
    )
    row(
        "of which: peak anonymous memory / file-backed pages at the peak (MB), ingest and reindex",
        "",
        "ingest",
        lambda r: (
            f"{_split(r['ingest'])}; {_split(r['reindex'])}"
            if "reindex" in r
            else _split(r["ingest"])
        ),
    )
    row(
        "disk written by ingest (KB per paper, /proc/self/io)",
        "",
        "ingest",
        lambda r: f"{r['ingest']['written_kb_per_paper']:.0f}",
    )
    row(
        "next-day 50k file (10% copies) into a copy: papers/s, KB written per paper, "
        "peak MB, longest write s",
        "≤ 50 KB",
        "next-day",
        lambda r: (
            f"{r['next-day']['papers_per_s']:,.0f}, {r['next-day']['written_kb_per_paper']:.0f}, "
            f"{r['next-day']['peak_rss_mb']:.0f}, {r['next-day']['longest_write_s']:.1f} "
            f"({r['next-day']['new_papers']:,} new, {r['next-day']['merged']:,} merged)"
        ),
    )
    row(
        "database size (MB)",
        "",
        "reindex",
        lambda r: f"{r['db_mb']:.0f} (+ index {r['reindex']['index_mb']:.0f})",
    )
    row(
        "load average before / after (1 min)",
        "",
        "load_before",
        lambda r: f"{r['load_before'][0]:.1f} / {r['load_after'][0]:.1f}",
    )
    return "\n".join(rows)


def main() -> None:
    """Run the sizes given and write RESULTS.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "10000,100000,1000000"))
    parser.add_argument("--out", default="bench/out")
    parser.add_argument("--results", default="bench/RESULTS.md")
    parser.add_argument(
        "--skip", default="", help=f"Parts not to run, comma-separated: {', '.join(PARTS)}."
    )
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="Rewrite RESULTS.md from the results-N.json files already in --out.",
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [int(n) for n in args.sizes.split(",")]
    if args.table_only:
        results = [json.loads((out / f"results-{n}.json").read_text()) for n in sizes]
    else:
        skip = {p for p in args.skip.split(",") if p}
        results = [run_size(n, out, skip) for n in sizes]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    text = (
        f"# Benchmark results\n\nRun on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}, "
        f"with `make bench` (`python -m bench.run --sizes {args.sizes}`).\n\n{table(results)}\n"
    )
    Path(args.results).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
