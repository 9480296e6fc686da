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
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.corpus import (
    FAMOUS,
    Paper,
    generate,
    with_duplicates,
    with_famous,
    write_dump,
    write_hf_json,
    write_rss,
)

PAPERS = str(Path(sys.executable).with_name("papers"))
FILE_PAPERS = 50_000  # papers per input file, like a large daily dump
QUERY_RUNS = 40


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
    for index, group in enumerate(groups):
        writer = writers[index % 3]
        suffix = {write_dump: "txt", write_rss: "xml", write_hf_json: "json"}[writer]
        path = folder / f"{index:03d}.{suffix}"
        if writer is write_dump:
            writer(group, path, page=date(2026, 3, 1) + timedelta(days=index))
        else:
            writer(group, path)
    return groups, len(copies)


# Runs the `papers` CLI and, as it exits, reports the process's own peak memory (VmHWM of
# its own address space: getrusage in or after a child forked from this big process would
# report this process's size) and the bytes it made the disk write.
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


def run_measured(*args: str) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """Run `papers args`; the result, seconds, the child's own peak RSS (MB), MB written."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    line = [x for x in done.stderr.splitlines() if x.startswith("MEASURED ")][-1]
    peak_kb, written = (int(v) for v in line.split()[1:])
    return done, seconds, peak_kb / 1024, written / 2**20


def ingest(db_path: Path, folder: Path) -> dict:
    """Ingest the corpus with the real CLI; wall time, the child's peak memory and writes."""
    done, seconds, peak_mb, written_mb = run_measured(
        "--db", str(db_path), "ingest", "--json", str(folder)
    )
    reports = json.loads(done.stdout)
    entries = sum(r["parsed"] for r in reports)
    return {
        "seconds": seconds,
        "entries": entries,
        "papers_per_s": entries / seconds,
        "peak_rss_mb": peak_mb,
        "written_mb": written_mb,
        "written_kb_per_paper": written_mb * 1024 / entries,
    }


def _folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def reindex(db_path: Path) -> dict:
    """`papers reindex`: the whole search index rebuilt from SQLite, its size on disk."""
    _, seconds, peak_mb, written_mb = run_measured("--db", str(db_path), "reindex")
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_mb,
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
    common, second = rows[0][1], rows[1][1]
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


def alert_matching(db_path: Path, subscriptions: int, new: int) -> dict:
    """10k new papers against many keyword subscriptions: grouped queries vs one per sub."""
    from jobs.alerts import match_new_papers
    from storage import connect
    from storage.search import matching_since

    db = connect(db_path)
    newest = next(db.query("SELECT MAX(id) AS n FROM papers"))["n"]
    after = max(newest - new, 0)
    vocab = [
        r[0]
        for r in sqlite3.connect(db_path).execute(
            "SELECT word FROM words WHERE length(word) >= 5 ORDER BY word"
        )
    ]
    rng = random.Random(3)
    # Zipf-like: a few popular topics, a long tail.
    weights = [1 / (i + 1) for i in range(len(vocab))]
    rng.shuffle(weights)
    keywords = [
        " ".join(rng.choices(vocab, weights, k=rng.choice([1, 1, 2]))) for _ in range(subscriptions)
    ]
    start = time.perf_counter()
    grouped = match_new_papers(db, keywords, after, newest)
    ours = time.perf_counter() - start
    sample = keywords[: min(len(keywords), 5000)]
    mismatches = 0
    start = time.perf_counter()
    for k in sample:
        naive_ids = [i for i in matching_since(db, k, after) if i <= newest]
        mismatches += naive_ids != grouped[" ".join(k.casefold().split())]
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


def ack_latency(db_path: Path, concurrency: int = 50, rounds: int = 6) -> dict:
    """Slash-command ack latency (HTTP response time) under `concurrency` signed requests."""
    from bot.app import build_app, make_http_server
    from slackstub import SlackStandIn
    from storage.config import Config

    stub = SlackStandIn().start()
    config = Config(
        db_path=str(db_path),
        slack_bot_token=stub.token,
        slack_signing_secret=stub.signing_secret,
        slack_api_url=stub.api_url,
        commands_per_minute=0,
    )
    server = make_http_server(build_app(config), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stub.app_url = f"http://127.0.0.1:{server.server_port}/slack/events"
    words = ["lora", "diffusion model", "language", "pre*", '"language models"', "transformer"]

    def one(i: int) -> float:
        _, response_url = stub.new_response_url()
        body = urllib.parse.urlencode(
            {
                "team_id": stub.team_id,
                "user_id": f"U{i}",
                "channel_id": "C0GENERAL",
                "command": "/papers",
                "text": words[i % len(words)],
                "response_url": response_url,
            }
        )
        start = time.perf_counter()
        status, _ = stub.send(body)
        failed.append(status != 200)  # Bolt answers 404 when the ack missed its 3 s
        return (time.perf_counter() - start) * 1000

    latencies: list[float] = []
    failed: list[bool] = []
    with ThreadPoolExecutor(concurrency) as pool:
        for r in range(rounds):
            latencies += pool.map(one, range(r * concurrency, (r + 1) * concurrency))
    # Let every reply (posted after the ack) arrive before the stand-in goes away.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sum(
        1 for posts in stub.state.responses.values() if posts
    ) < len(latencies):
        time.sleep(0.05)
    server.shutdown()
    stub.stop()
    return {
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "not_acked": sum(failed),
    }


def run_size(n: int, out: Path) -> dict:
    """Every figure for one corpus size."""
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
    result: dict = {"size": n, "entries": sum(map(len, groups)), "copies": copies}
    result["ingest"] = ingest(db_path, folder)
    print(f"[{n}] ingest: {result['ingest']}", flush=True)
    result["reindex"] = reindex(db_path)
    print(f"[{n}] reindex: {result['reindex']}", flush=True)
    result["relevance"] = relevance(db_path)
    print(f"[{n}] relevance: {result['relevance']}", flush=True)
    result["dedup"] = dedup_quality(db_path, groups)
    result["dedup_baseline"] = baseline_dedup(groups)
    print(f"[{n}] dedup: {result['dedup']} baseline {result['dedup_baseline']}", flush=True)
    result["search"] = search_latency(db_path, n)
    print(f"[{n}] search: {json.dumps(result['search'])}", flush=True)
    result["alerts"] = alert_matching(db_path, 100_000, 10_000)
    print(f"[{n}] alerts: {result['alerts']}", flush=True)
    result["fanout"] = fanout(db_path, 10_000, 500)
    print(f"[{n}] fanout: {result['fanout']}", flush=True)
    result["ack"] = ack_latency(db_path)
    print(f"[{n}] ack: {result['ack']}", flush=True)
    result["db_mb"] = (
        sum(
            Path(str(db_path) + s).stat().st_size
            for s in ("", "-wal")
            if Path(str(db_path) + s).exists()
        )
        / 2**20
    )
    shutil.rmtree(folder, ignore_errors=True)
    (out / f"results-{n}.json").write_text(json.dumps(result, indent=2))
    return result


def table(results: list[dict]) -> str:
    """The RESULTS.md table: one row per figure, one column per size."""
    sizes = [r["size"] for r in results]
    head = "| figure | target | " + " | ".join(f"{s:,} papers" for s in sizes) + " |"
    rows = [head, "|" + " --- |" * (2 + len(sizes))]

    def row(name: str, target: str, fmt) -> None:
        rows.append(f"| {name} | {target} | " + " | ".join(fmt(r) for r in results) + " |")

    for cls in ["rare", "common", "multi-word", "phrase", "prefix"]:
        row(
            f"search p50 / p99, {cls} (ms)",
            "p99 < 50",
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
        lambda r: " / ".join(
            str(r["relevance"][q]["position"] or ">100") if "relevance" in r else "–"
            for q in queries
        ),
    )
    row(
        "search index: rebuild s / size MB / peak MB",
        "",
        lambda r: (
            f"{r['reindex']['seconds']:.0f} / {r['reindex']['index_mb']:.0f} / "
            f"{r['reindex']['peak_rss_mb']:.0f}"
            if "reindex" in r
            else "–"
        ),
    )
    row(
        "ingest incl. dedup + index (papers/s)",
        "≥ 20,000",
        lambda r: f"{r['ingest']['papers_per_s']:,.0f}",
    )
    row(
        "dedup precision / recall / F1",
        "F1 ≥ 0.98",
        lambda r: (
            f"{r['dedup']['precision']:.4f} / {r['dedup']['recall']:.4f} / {r['dedup']['f1']:.4f} "
            f"(exact-title dict F1 {r['dedup_baseline']['f1']:.4f})"
        ),
    )
    row(
        "alert matching, 10k new × 100k subs (s)",
        "< 2",
        lambda r: (
            f"{r['alerts']['seconds']:.2f} ({r['alerts']['distinct_queries']:,} distinct; "
            f"one query per sub: {r['alerts']['baseline_seconds']:.1f})"
        ),
    )
    row(
        "fan-out 10k digests / 500 channels (s)",
        "≤ 1.1 × minimum",
        lambda r: (
            f"{r['fanout']['seconds']:.1f} (minimum {r['fanout']['rate_limit_minimum_s']:.0f}, "
            f"×{r['fanout']['seconds'] / max(r['fanout']['rate_limit_minimum_s'], 0.01):.2f})"
        ),
    )
    row(
        "ack p50 / p99, 50 concurrent (ms)",
        "p99 < 300",
        lambda r: (
            f"{r['ack']['p50_ms']:.0f} / {r['ack']['p99_ms']:.0f} "
            f"({r['ack'].get('not_acked', 0)} of {r['ack']['requests']} missed 3 s)"
        ),
    )
    row("peak memory of ingest (MB)", "< 1,024", lambda r: f"{r['ingest']['peak_rss_mb']:.0f}")
    row(
        "disk written by ingest (KB per paper)",
        "≤ 50",
        lambda r: (
            f"{r['ingest']['written_kb_per_paper']:.0f}" if "written_mb" in r["ingest"] else "–"
        ),
    )
    row(
        "database size (MB)",
        "",
        lambda r: (
            f"{r['db_mb']:.0f} (+ index {r['reindex']['index_mb']:.0f})"
            if "reindex" in r
            else f"{r['db_mb']:.0f}"
        ),
    )
    return "\n".join(rows)


def main() -> None:
    """Run the sizes given and write RESULTS.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "10000,100000,1000000"))
    parser.add_argument("--out", default="bench/out")
    parser.add_argument("--results", default="bench/RESULTS.md")
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
        results = [run_size(n, out) for n in sizes]
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
