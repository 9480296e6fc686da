"""The `papers` CLI as a user runs it, on a real database: in-process through click's
CliRunner, and once as the installed console script."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bench.corpus import generate, write_dump
from jobs.inbox import ingest_feeds
from jobs.ingest import ingest_target
from papers.cli import main
from storage import connect
from storage.config import Config
from storage.index import indexed_ids
from tests.bot.conftest import wait_for
from tests.conftest import FIXTURES, NOW, ROOT, SEEDS, add_subscription, printed_lines

PAPERS = str(Path(sys.executable).with_name("papers"))


@dataclass
class Ran:
    """What a user sees of one command: its exit code and its two streams."""

    returncode: int
    stdout: str
    stderr: str


def run(db: Path, *args: str) -> Ran:
    """Run `papers --db DB ARGS...` in-process (the CLI sets up logging; put it back after)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = CliRunner().invoke(main, ["--db", str(db), *args])
    finally:
        root.handlers[:], root.level = handlers, level
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_console_script_ingests_and_a_second_run_adds_nothing(tmp_path):
    db = tmp_path / "p.db"

    def script(*args: str) -> subprocess.CompletedProcess:
        command = [PAPERS, "--db", str(db), *args]
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)

    first = script("ingest", str(SEEDS))
    assert first.returncode == 0, first.stderr
    assert (
        "000_db82ecd9bbfd133f.txt: 39 parsed, 39 new papers, 0 merged sightings, 0 skipped"
        in first.stdout
    )
    assert (
        "001_bd886f24c340b808.txt: 67 parsed, 61 new papers, 6 merged sightings, 0 skipped"
        in first.stdout
    )
    assert "total: 117 parsed, 111 new papers, 6 merged sightings, 0 skipped" in first.stdout
    assert "; merged by title 6" in first.stdout  # every merge of the seeds: an equal title
    assert "002_af989c2119285913.txt: 11 parsed, 11 new papers" in first.stdout
    assert "undated (no date line, --date or date in the file name)" in first.stdout
    second = script("ingest", str(SEEDS))
    assert second.stdout.count("already ingested, nothing changed") == 3
    stats = json.loads(script("stats", "--json").stdout)
    assert (stats["papers"], stats["sightings"], stats["untitled"]) == (111, 117, 11)


def test_search_and_trending_json_fields(seeded_path):
    result = run(seeded_path, "search", "lora", "--json")
    data = json.loads(result.stdout)
    assert data["total"] == 2
    fields = {
        "id",
        "title",
        "abstract",
        "url",
        "arxiv_id",
        "authors_count",
        "published",
        "upvotes",
        "sources",
        "score",
        "snippet",
    }
    assert all(fields <= set(p) for p in data["papers"])
    trend = json.loads(run(seeded_path, "trending", "--window", "week", "--json").stdout)
    assert trend and all({"score", "reason"} <= set(p) and p["reason"] for p in trend)


def test_search_suggests_and_handles_unbalanced_quote(seeded_path):
    assert "Did you mean: lora?" in run(seeded_path, "search", "loar").stdout
    unbalanced = run(seeded_path, "search", '"unbalanced')
    assert unbalanced.returncode == 0 and "Traceback" not in unbalanced.stderr


@pytest.mark.parametrize(
    ("query", "note"),
    [
        pytest.param("C++", "`C++` is searched as the word `C`", id="symbol-dropped"),
        pytest.param(
            "lora " + "x" * 45, "`xxxxxxxxxxxxxxxxxxxx…` was left out", id="word-too-long"
        ),
    ],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_search_says_what_it_could_not_search_as_typed(seeded_path, query, note, as_json):
    """The README promises a query that leaves a word out says so; `/papers` did, but
    `papers search` showed the results as if every word had been searched."""
    result = run(seeded_path, "search", query, *(["--json"] if as_json else []))
    assert result.returncode == 0
    if as_json:
        assert any(n.startswith(note) for n in json.loads(result.stdout)["notes"])
    else:
        assert f"Note: {note}" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["search", ""], "Type a few words", id="empty-query"),
        pytest.param(["search", "x" * 2000], "keep it to 256 or fewer", id="long-query"),
        pytest.param(["trending", "--window", "year"], "Invalid value", id="bad-window"),
    ],
)
def test_user_errors_exit_2_with_one_line(seeded_path, args, message):
    result = run(seeded_path, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("length", "refused"),
    [pytest.param(256, False, id="at-the-limit"), pytest.param(257, True, id="one-over")],
)
def test_the_query_limit_the_reply_names_is_the_one_applied(seeded_path, length, refused):
    result = run(seeded_path, "search", "lora " + "x" * (length - 5))
    assert ("keep it to 256 or fewer" in result.stderr) == refused
    assert result.returncode == (2 if refused else 0)


def test_missing_path_is_reported_and_exit_1(tmp_path):
    result = run(
        tmp_path / "p.db", "ingest", str(tmp_path / "nope"), str(SEEDS / "002_af989c2119285913.txt")
    )
    assert result.returncode == 1
    assert "nope: FAILED: no such file, folder or URL" in result.stdout
    assert "11 new papers" in result.stdout


def test_digest_preview_prints_text_and_block_kit(seeded_path):
    from datetime import UTC, datetime

    from storage import connect

    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "C1", frequency="weekly", now=datetime.now(UTC))
    db.close()
    by_id = run(seeded_path, "digest", "--preview", "--subscription", "1")
    assert by_id.returncode == 0, by_id.stderr
    lines = by_id.stdout.splitlines()
    assert lines[0] == "# subscription #1 → C1"
    assert lines[1].startswith("Weekly papers · ") and lines[1].endswith(": 5 papers")
    assert len([line for line in lines if line.startswith("  - ")]) == 5
    blocks = json.loads(by_id.stdout[by_id.stdout.index("[") :])
    assert blocks[0]["type"] == "header" and blocks[-1]["type"] == "actions"
    by_channel = run(seeded_path, "digest", "--preview", "--team", "T1", "--channel", "C1")
    assert by_channel.stdout == by_id.stdout
    assert run(seeded_path, "digest", "--preview", "--subscription", "9").returncode == 2
    assert connect(seeded_path)["deliveries"].count == 0  # a preview sends nothing


def test_db_in_a_missing_folder_is_an_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    result = run(missing, "stats")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "does not exist" in result.stderr and "0 papers" not in result.stdout
    assert not (tmp_path / "no").exists()
    # It said "run `papers ingest` first", which fails the same way: ingest makes no folder
    # but the default data/.
    assert "papers ingest" not in result.stderr and "check the path" in result.stderr


def test_the_default_data_folder_is_created_by_ingest(tmp_path):
    command = [PAPERS, "ingest", str(SEEDS / "000_db82ecd9bbfd133f.txt")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "39 new papers" in result.stdout and (tmp_path / "data" / "papers.db").exists()


@pytest.mark.parametrize("args", [("search", "lora"), ("stats",), ("trending",)], ids=str)
def test_a_read_command_without_a_database_leaves_no_data_folder(tmp_path, args):
    # The error said "run `papers ingest` first", and an empty data/ was left behind.
    result = subprocess.run([PAPERS, *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "Error: There is no database at data/papers.db: the folder 'data' does not exist;"
        " run `papers ingest` first.\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_digest_needs_no_preview_flag_and_is_honest_about_a_first_digest(seeded_path):
    from datetime import UTC, datetime

    from storage import connect

    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "C1", keywords="quantum", now=datetime.now(UTC))
    db.close()
    result = run(seeded_path, "digest", "--subscription", "1")
    assert result.returncode == 0, result.stderr
    assert "nothing to show yet" in result.stdout
    assert "since your last digest" not in result.stdout


@pytest.mark.parametrize(
    ("mode", "first", "shown"),
    [
        pytest.param(
            "skip",
            False,
            "nothing new since your last digest, so no digest would be sent now",
            id="skip",
        ),
        pytest.param(
            "skip",
            True,
            "nothing to show yet. No listed paper matches so far, so no digest would be sent now",
            id="skip-first",
        ),
        pytest.param("note", False, ": nothing new since your last digest.", id="note"),
        pytest.param("note", True, ": nothing to show yet. No listed paper", id="note-first"),
    ],
)
def test_digest_with_nothing_new_shows_what_the_empty_digest_setting_sends(
    seeded_path, monkeypatch, mode, first, shown
):
    """With PAPERS_EMPTY_DIGEST=skip (the default) nothing is sent when nothing is new, but
    the preview showed the note only `note` sends, as if it were on its way."""
    from datetime import UTC, datetime

    monkeypatch.setenv("PAPERS_EMPTY_DIGEST", mode)
    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "C1", keywords="quantum", now=datetime.now(UTC))
    if not first:
        db["subscriptions"].update(1, {"last_delivered_at": datetime.now(UTC).isoformat()})
    db.close()
    result = run(seeded_path, "digest", "--subscription", "1")
    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    assert ("would be sent" in result.stdout) is (mode == "skip")


def test_digest_of_a_keyword_alert_says_it_gets_no_digest(seeded_path):
    # An instant alert never gets a digest: printing "Daily papers on “lora”" for it was a
    # digest that will never be sent.
    from datetime import UTC, datetime

    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "U1", "personal", keywords="lora", frequency="instant")
    add_subscription(db, "T1", "U2", "C1", now=datetime.now(UTC))
    db.close()
    alert = run(seeded_path, "digest", "--subscription", "1")
    assert alert.returncode == 2 and alert.stdout == ""
    assert alert.stderr == (
        "Error: subscription #1 is an instant alert (`lora`): it gets no digest; "
        "its alerts go out as papers arrive\n"
    )
    only_alerts = run(seeded_path, "digest", "--team", "T1", "--channel", "U1")
    assert only_alerts.returncode == 2
    assert only_alerts.stderr == "Error: no digest subscription for U1 in T1\n"
    channel = run(seeded_path, "digest", "--subscription", "2")
    assert channel.returncode == 0 and channel.stdout.startswith("# subscription #2 → C1")


def test_digest_of_a_paused_subscription_says_nothing_is_sent(seeded_path):
    # A paused subscription (Slack said channel_not_found, say) gets nothing until it is
    # resumed; the preview read as if this digest were on its way.
    from datetime import UTC, datetime

    from storage import subscriptions as subs

    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "C1", now=datetime.now(UTC))
    subs.pause(db, 1, "channel_not_found")
    db.close()
    result = run(seeded_path, "digest", "--subscription", "1")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == (
        "# subscription #1 → C1 (paused: channel_not_found; nothing is sent until it is resumed)"
    )


@pytest.mark.parametrize(
    ("keywords", "heading"),
    [
        pytest.param("Q&A", "Daily papers on “Q&A” · ", id="ampersand"),
        pytest.param("diffus* -survey", "Daily papers on “diffus* -survey” · ", id="prefix"),
    ],
)
def test_digest_prints_its_heading_as_typed_not_as_slack_markup(seeded_path, keywords, heading):
    """`papers digest` printed `Daily papers on “Q&amp;A”` and `“diffus∗ -survey”`: the
    Slack-escaped fallback text, in a terminal that shows no mrkdwn."""
    from datetime import UTC, datetime

    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "C1", keywords=keywords, now=datetime.now(UTC))
    db.close()
    result = run(seeded_path, "digest", "--subscription", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith(heading)
    assert "&amp;" not in result.stdout.splitlines()[1]


@pytest.mark.parametrize("number", ["99999999999999999999999", "0"], ids=["past-sqlite", "zero"])
def test_digest_of_an_impossible_subscription_id_is_a_usage_error(seeded_path, number):
    """A number past SQLite's integers traced back with OverflowError."""
    result = run(seeded_path, "digest", "--subscription", number)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Invalid value for '--subscription'" in result.stderr


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        pytest.param(("search", "lora", "--db", "x.db"), "papers --db PATH search ...", id="db"),
        pytest.param(("stats", "-v"), "papers -v stats ...", id="verbose"),
    ],
)
def test_an_option_of_papers_after_the_command_says_where_it_goes(args, hint):
    """`papers search lora --db x.db` said only "No such option '--db'", though --db is
    an option of papers: one it takes before the command."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2 and hint in result.output


def test_help_names_the_database_variable_and_the_date_format():
    """`--db` said only "default data/papers.db", though PAPERS_DB is read first, and
    `--date` showed click's `[%Y-%m-%d]` where the README says `YYYY-MM-DD`."""
    result = CliRunner().invoke(main, ["--help"])
    assert "--db PATH" in result.output and "PAPERS_DB" in result.output
    assert "data/papers.db" in result.output
    assert "--date YYYY-MM-DD" in CliRunner().invoke(main, ["ingest", "--help"]).output


def test_binary_file_exits_1_with_one_line_and_a_failure_row(tmp_path):
    db, binary = tmp_path / "p.db", tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    result = run(db, "ingest", str(binary))
    assert result.returncode == 1
    output = (result.stdout + result.stderr).splitlines()
    assert output == [f"{binary}: FAILED: not a dump, feed or JSON (binary data)"]
    stats = run(db, "stats").stdout
    assert f"- {binary} (binary): failing: not a dump, feed or JSON (binary data)" in stats


def test_full_width_query_finds_what_the_ascii_one_finds(seeded_path):
    wide = json.loads(run(seeded_path, "search", "ＬＯＲＡ", "--json").stdout)
    plain = json.loads(run(seeded_path, "search", "lora", "--json").stdout)
    assert wide["total"] == plain["total"] == 2
    assert [p["id"] for p in wide["papers"]] == [p["id"] for p in plain["papers"]]


# Peak memory of a process and its children, measured by a wrapper process of its own (so
# no other child of the test run counts), in KB as Linux reports ru_maxrss.
MAXRSS = (
    "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]);"
    " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def test_a_200_mb_line_is_skipped_in_bounded_memory_and_leaves_search_small(tmp_path):
    db, dump = tmp_path / "p.db", tmp_path / "2026-03-16.txt"
    seed = (SEEDS / "000_db82ecd9bbfd133f.txt").read_bytes()
    middle = seed.index(b"\n\n", len(seed) // 2)
    block = b"lorem ipsum dolor sit amet consectetur adipiscing " * 20_000  # 1 MB, no newline
    try:
        with dump.open("wb") as out:
            out.write(seed[:middle] + b"\n\n")
            for _ in range(200):
                out.write(block)
            out.write(b"\n\n" + seed[middle:])
        result = subprocess.run(
            [sys.executable, "-c", MAXRSS, PAPERS, "--db", str(db), "ingest", str(dump)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        dump.unlink()
    report, peak_kb = result.stdout.splitlines()
    assert report.endswith(
        "39 parsed, 39 new papers, 0 merged sightings, 1 skipped (1× line longer than 16,384 bytes)"
    )
    assert int(peak_kb) < 500 * 1024
    assert db.stat().st_size < 5_000_000  # the 200 MB line is nowhere in the store
    assert "No papers match 'lorem'" in run(db, "search", "lorem").stdout


def test_ctrl_c_during_an_ingest_says_what_it_kept_in_one_line(tmp_path, drip_server, ctrl_c):
    # It printed click's bare "Aborted!" (exit 1, as for a failed source): was anything kept,
    # and may the ingest be run again?
    db = tmp_path / "p.db"
    command = [PAPERS, "--db", str(db), "ingest", str(SEEDS), drip_server.url()]
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True) as ingest:
        assert drip_server.asked.wait(60)  # the seeds are stored; the feed is arriving
        ingest.send_signal(signal.SIGINT)
        _, stderr = ingest.communicate(timeout=30)
    assert ingest.returncode == 130
    assert stderr.strip().splitlines() == [
        "Interrupted: the papers stored so far are kept; run the same `papers ingest` again"
        " to finish (what is stored is not stored twice)."
    ]
    assert run(db, "search", "lora").stdout.startswith("2 papers match")
    again = run(db, "ingest", str(SEEDS))
    assert again.stdout.count("already ingested, nothing changed") == 3


def test_ctrl_c_during_a_large_ingest_stops_its_index_process_quietly(tmp_path, ctrl_c):
    # A terminal's Ctrl-C reaches the whole process group, the index writer process too: it
    # is the ingest's to handle (one line, exit 130), never a second traceback.
    dump, db = tmp_path / "big.txt", tmp_path / "p.db"
    write_dump(generate(20_000, seed=3), dump)
    env = {**os.environ, "PAPERS_INGEST_BATCH": "1000"}
    ingest = subprocess.Popen(
        [PAPERS, "--db", str(db), "ingest", str(dump)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    with ingest:
        store = connect(db)
        wait_for(lambda: store["papers"].count >= 2000, timeout=60)  # mid-ingest
        os.killpg(ingest.pid, signal.SIGINT)
        _, stderr = ingest.communicate(timeout=60)
    assert ingest.returncode == 130
    assert stderr.strip().splitlines() == [
        "Interrupted: the papers stored so far are kept; run the same `papers ingest` again"
        " to finish (what is stored is not stored twice)."
    ]
    # `papers stats` said the source was "ok": an admin looking there would not run it again.
    assert (
        f"{dump} (dump): not finished: being ingested now, or stopped midway"
        in run(db, "stats").stdout
    )
    again = run(db, "ingest", str(dump))
    assert "20000 parsed" in again.stdout
    assert indexed_ids(connect(db)) == list(range(1, 20_001))  # each paper once
    assert f"{dump} (dump): ok" in run(db, "stats").stdout


def _corrupt(path: Path) -> None:
    shutil.copyfile(SEEDS / sorted(p.name for p in SEEDS.iterdir())[0], path)


def _from_a_newer_papers(path: Path) -> None:
    # A newer release migrated the file (a column renamed), then papers was rolled back.
    db = connect(path)
    add_subscription(db, "T1", "U1", "C1", keywords="lora")
    db.execute("ALTER TABLE subscriptions RENAME COLUMN keywords TO query")
    db["_sqlite_migrations"].insert(
        {"migration_set": "papers", "name": "m099_query_column", "applied_at": "2027-01-01"}
    )
    db.close()


@pytest.mark.parametrize(
    ("args", "make", "message"),
    [
        pytest.param(["stats"], _corrupt, "is corrupt (not an SQLite database)", id="corrupt"),
        pytest.param(["ingest", str(SEEDS)], _corrupt, "is corrupt", id="corrupt-ingest"),
        pytest.param(["search", "lora"], None, "There is no database at", id="missing"),
        pytest.param(
            ["stats"],
            lambda p: p.parent.joinpath("dir.db").mkdir() or None,
            "There is no database at",
            id="missing-other-name",
        ),
        pytest.param(["search", "lora"], Path.mkdir, "is a folder; give the path", id="folder"),
        pytest.param(["ingest", str(SEEDS)], Path.mkdir, "is a folder", id="folder-ingest"),
        *(
            pytest.param(args, _from_a_newer_papers, "written by a newer version", id=name)
            for name, args in [
                ("newer-digest", ["digest", "--subscription", "1"]),
                ("newer-search", ["search", "lora"]),
                ("newer-ingest", ["ingest", str(SEEDS)]),
            ]
        ),
    ],
)
def test_a_bad_database_is_one_clear_line(tmp_path, args, make, message):
    db = tmp_path / "p.db"
    if make:
        make(db)
    result = run(db, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_read_only_database_is_one_clear_line(seeded_path):
    """Root writes through file modes, so as root the file is made immutable instead."""
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(seeded_path)], check=True)
    else:
        seeded_path.chmod(0o444)
    try:
        result = run(seeded_path, "ingest", str(SEEDS))
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(seeded_path)], check=True)
    assert result.returncode == 2, result.stderr
    assert "is read-only" in result.stderr and "Traceback" not in result.stderr


def test_stats_never_prints_a_feed_password_or_api_key(seeded_path):
    db = connect(seeded_path)
    url = "http://reader:hunter2-pass@127.0.0.1:9/feed.xml?api_key=sk-live-123&q=lora"
    ingest_target(db, url, NOW)
    db.close()
    for args in (["stats"], ["stats", "--json"]):
        out = run(seeded_path, *args).stdout
        assert "127.0.0.1:9/feed.xml" in out
        assert "hunter2-pass" not in out and "sk-live-123" not in out


def test_stats_json_stays_json_when_a_feed_url_ends_with_its_api_key(seeded_path):
    """The redaction ran over the printed JSON: a key at the end of a URL took the closing
    quote and comma with it (`"name": "...?api_key=[redacted]`), and no script could parse it."""
    db = connect(seeded_path)
    url = "http://127.0.0.1:9/feed.xml?api_key=sk-live-123"
    ingest_target(db, url, NOW)
    db.close()
    out = run(seeded_path, "stats", "--json").stdout
    assert "sk-live-123" not in out
    names = [source["name"] for source in json.loads(out)["sources"]]
    assert "http://127.0.0.1:9/feed.xml?api_key=[redacted]" in names


def test_ingest_json_never_prints_a_feed_password_or_api_key(seeded_path):
    """`papers ingest` redacted a feed's credentials on its report lines, not in --json."""
    url = "http://reader:hunter2-pass@127.0.0.1:9/feed.xml?token=sk-live-123"
    result = run(seeded_path, "ingest", "--json", url)
    assert result.returncode == 1
    assert "hunter2-pass" not in result.stdout and "sk-live-123" not in result.stdout
    (report,) = json.loads(result.stdout)
    assert report["source"] == "http://[redacted]@127.0.0.1:9/feed.xml?token=[redacted]"
    assert report["error"]


def test_a_feed_removed_from_papers_feeds_no_longer_shows_as_failing(seeded_path, monkeypatch):
    """An admin removes a broken feed from PAPERS_FEEDS: stats stops calling it failing (the
    worker no longer fetches it) but keeps its history; a configured one still fails."""
    gone, kept = "http://127.0.0.1:9/gone.xml", "http://127.0.0.1:9/kept.xml"
    monkeypatch.setenv("PAPERS_FEEDS", f"{gone} {kept}")
    db = connect(seeded_path)
    ingest_feeds(db, Config.from_env().with_db(str(seeded_path)), NOW)
    db.close()
    failing = run(seeded_path, "stats").stdout
    assert f"- {gone} (url): failing: " in failing and f"- {kept} (url): failing: " in failing
    monkeypatch.setenv("PAPERS_FEEDS", kept)
    out = run(seeded_path, "stats").stdout
    assert f"- {kept} (url): failing: " in out
    line = next(line for line in out.splitlines() if gone in line)
    assert "failing" not in line
    assert line.startswith(
        f"- {gone} (url): no longer fetched (not in PAPERS_FEEDS); its last read failed: "
    )
    source = next(
        s
        for s in json.loads(run(seeded_path, "stats", "--json").stdout)["sources"]
        if s["name"] == gone
    )
    assert source["configured"] is False and source["last_error"] and source["failures"] == 1


def test_a_url_ingested_by_hand_without_papers_feeds_shows_as_failing(seeded_path, monkeypatch):
    """With no PAPERS_FEEDS where stats runs (a URL ingested by hand, or a shell without the
    worker's environment), a failing URL said "no longer fetched (not in PAPERS_FEEDS)": a
    failure hidden as history. Nothing says which feeds the worker reads: it is failing."""
    monkeypatch.delenv("PAPERS_FEEDS", raising=False)
    url = "http://127.0.0.1:9/by-hand.xml"
    assert run(seeded_path, "ingest", url).returncode != 0
    line = next(line for line in run(seeded_path, "stats").stdout.splitlines() if url in line)
    assert line.startswith(f"- {url} (url): failing: ") and "no longer" not in line
    shown = json.loads(run(seeded_path, "stats", "--json").stdout)["sources"]
    assert next(s for s in shown if s["name"] == url)["configured"] is None


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://[::1/feed.xml", id="unclosed-ipv6"),
        pytest.param("http://127.0.0.1:rss/feed.xml", id="port-not-a-number"),
    ],
)
def test_a_mistyped_url_is_one_failed_line_without_a_traceback(tmp_path, url, capfd):
    result = run(tmp_path / "p.db", "ingest", url, str(SEEDS / "002_af989c2119285913.txt"))
    assert result.returncode == 1
    (failed,) = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert failed.startswith(f"{url}: FAILED: ") and "unexpected" not in failed
    assert failed.count(url) == 1  # the URL once, as the source's name
    assert "11 new papers" in result.stdout
    logged = capfd.readouterr().err + result.stderr
    assert "Traceback" not in logged


@pytest.mark.parametrize(
    "files",
    [
        pytest.param([], id="empty"),
        pytest.param(["notes.md", "page.html", "dump.txt.gz"], id="unsupported-suffixes"),
        pytest.param(["2026/03/2026-03-16.txt"], id="dumps-only-in-subfolders"),
    ],
)
def test_a_folder_without_a_dump_feed_or_json_is_a_failed_line(tmp_path, files):
    folder = tmp_path / "dumps"
    folder.mkdir()
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes((SEEDS / "001_bd886f24c340b808.txt").read_bytes())
    result = run(tmp_path / "p.db", "ingest", str(folder), str(SEEDS / "002_af989c2119285913.txt"))
    assert result.returncode == 1
    assert (
        f"{folder}: FAILED: no .txt, .xml, .rss, .atom or .json file in this folder"
        in result.stdout
    )
    assert "11 new papers" in result.stdout


def _broken_link(path: Path) -> None:
    path.symlink_to(path.with_name("moved-away.txt"))


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "inner.txt").write_bytes((SEEDS / "001_bd886f24c340b808.txt").read_bytes())


def _fifo(path: Path) -> None:
    os.mkfifo(path)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(_broken_link, "broken link: its target does not exist", id="broken-link"),
        pytest.param(_folder, "a folder, not a file", id="folder-named-like-a-dump"),
        pytest.param(_fifo, "not a regular file (a pipe, socket or device)", id="fifo"),
    ],
)
def test_an_entry_of_a_folder_that_is_no_file_is_a_failed_line(tmp_path, make, reason):
    folder = tmp_path / "dumps"
    folder.mkdir()
    make(folder / "2026-03-16.txt")
    shutil.copyfile(SEEDS / "002_af989c2119285913.txt", folder / "good.txt")
    db = tmp_path / "p.db"
    result = run(db, "ingest", str(folder))
    assert result.returncode == 1
    assert f"{folder / '2026-03-16.txt'}: FAILED: {reason}" in result.stdout.splitlines()
    assert "11 new papers" in result.stdout
    assert f"- {folder / '2026-03-16.txt'} (file): failing: {reason}" in run(db, "stats").stdout


@pytest.mark.parametrize(
    "target",
    [pytest.param("file", id="file"), pytest.param("folder", id="in-a-folder")],
)
def test_an_empty_file_says_so_and_is_not_recorded_as_ingested(tmp_path, target):
    folder = tmp_path / "dumps"
    folder.mkdir()
    db = tmp_path / "p.db"
    first, later = folder / "2026-03-16.txt", tmp_path / "later.txt"
    first.touch()
    result = run(db, "ingest", str(first if target == "file" else folder))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"{first}: empty file, nothing ingested"]
    later.touch()  # another empty file is empty too, not "already ingested"
    assert run(db, "ingest", str(later)).stdout == f"{later}: empty file, nothing ingested\n"
    assert json.loads(run(db, "stats", "--json").stdout)["inputs"] == 0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(
            lambda p: p.parent.write_text("a file, not a folder"),
            "no such file, folder or URL",
            id="parent-is-a-file",
        ),
        pytest.param(_fifo, "not a regular file (a pipe, socket or device)", id="fifo"),
    ],
)
def test_an_unreadable_file_is_one_failed_line(tmp_path, make, reason, capfd):
    target = tmp_path / "notes" / "dump.txt"
    if make is _fifo:
        target.parent.mkdir()
    make(target)
    result = run(tmp_path / "p.db", "ingest", str(target), str(SEEDS / "002_af989c2119285913.txt"))
    assert result.returncode == 1
    (failed,) = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert failed == f"{target}: FAILED: {reason}"
    assert "11 new papers" in result.stdout
    assert "Traceback" not in capfd.readouterr().err + result.stderr


def test_a_bad_setting_is_one_line_naming_the_variable(seeded_path, monkeypatch):
    monkeypatch.setenv("PAPERS_MAX_QUERY", "0")
    result = run(seeded_path, "search", "lora")
    assert result.returncode == 2
    assert result.stderr == "Error: PAPERS_MAX_QUERY must be between 1 and 900, got '0'\n"


@pytest.fixture
def busy_port():
    """A port another process (a first `make run`) is listening on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("which", "advice"),
    [
        # `make run` passes no option: the advice names its variable too.
        pytest.param("standin", "--standin-port (`make run STANDIN_PORT=N`)", id="stand-in-port"),
        pytest.param("app", "PORT (`PORT=N make run`)", id="app-port"),
    ],
)
def test_make_run_twice_is_one_line_about_the_busy_port(tmp_path, busy_port, which, advice):
    # A second `make run` beside a running one: the port it needs is taken.
    standin, app = (busy_port, _free_port()) if which == "standin" else (_free_port(), busy_port)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    ran = subprocess.run(
        [PAPERS, "--db", str(tmp_path / "p.db"), "run", "--standin-port", str(standin)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PORT": str(app)},
        timeout=60,
    )
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.splitlines()[-1] == (
        f"Error: port {busy_port} is already in use (is papers already running?); "
        f"stop that process or choose another port with {advice}."
    )


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param(["STANDIN_PORT="], "papers run", id="default-ports"),
        pytest.param(["STANDIN_PORT=3999"], "papers run --standin-port 3999", id="standin-port"),
    ],
)
def test_make_run_takes_the_stand_in_port_the_busy_port_error_names(variables, expected):
    # What `make run` would run (make -n prints it): the advice above must be one it can take.
    ran = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/.installed", "run", "DB=", *variables],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    last = ran.stdout.strip().splitlines()[-1]
    assert " ".join(last.split()).endswith(expected), last


@pytest.mark.parametrize(
    ("args", "port_env", "advice"),
    [
        pytest.param(("serve",), True, "PORT", id="serve-on-PORT"),
        pytest.param(("serve", "--port", "{port}"), False, "--port", id="serve-port-option"),
        pytest.param(("standin", "--port", "{port}"), False, "--port", id="standin"),
    ],
)
def test_serve_or_standin_on_a_busy_port_is_one_line(tmp_path, busy_port, args, port_env, advice):
    # `papers serve` / `papers standin` beside a running one: the port is taken.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    env.update({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"})
    if port_env:
        env["PORT"] = str(busy_port)
    ran = subprocess.run(
        [PAPERS, "--db", str(tmp_path / "p.db"), *(a.format(port=busy_port) for a in args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.splitlines()[-1] == (
        f"Error: port {busy_port} is already in use (is papers already running?); "
        f"stop that process or choose another port with {advice}."
    )


@pytest.fixture
def web_api():
    """A Web API that records the methods called on it: apps.connections.open gives a
    Socket Mode address where nothing listens (the client then retries in the background,
    as after a dropped connection), unless `refused` names Slack's error for it; any other
    method is refused."""
    import http.server
    import threading

    called: list[str] = []
    refused: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            method = self.path.rsplit("/", 1)[-1]
            called.append(method)
            answer = {"ok": False, "error": refused.get(method, "invalid_auth")}
            if method == "apps.connections.open" and method not in refused:
                answer = {"ok": True, "url": "ws://127.0.0.1:9/link"}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/", called, refused
    server.shutdown()
    server.server_close()


def _socket_mode_env(url: str, port: int, oauth: bool = False) -> dict[str, str]:
    """The environment of a bot in Socket Mode against the Web API at `url`."""
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    env.update(
        {
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": url,
            "PORT": str(port),
        }
    )
    if oauth:
        key = Fernet.generate_key().decode()
        env.update({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "PAPERS_TOKEN_KEY": key})
    else:
        env["SLACK_BOT_TOKEN"] = "xoxb-test"
    return env


def test_make_run_with_an_app_token_connects_out_in_socket_mode(tmp_path, busy_port, web_api):
    # README: with SLACK_APP_TOKEN the bot connects out to Slack instead of listening, so
    # `make run` needs no free PORT and asks Slack for a Socket Mode connection.
    from tests.bot.conftest import wait_for

    url, called, _ = web_api
    command = [PAPERS, "--db", str(tmp_path / "p.db"), "run"]
    out = tmp_path / "stdout.txt"
    with out.open("w") as stdout:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=_socket_mode_env(url, busy_port), stdout=stdout
        )
    try:
        assert wait_for(lambda: "worker running" in out.read_text() or process.poll() is not None)
        assert process.poll() is None
        assert "apps.connections.open" in called
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("command", ["serve", "run"])
def test_socket_mode_with_oauth_still_serves_the_install_page(tmp_path, web_api, command):
    """Socket Mode with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET listened on no port, so the
    /slack/install page the README sends each workspace to was never there: an admin's
    browser (which Socket Mode's connection never reaches) could not install the app."""
    import socket
    import urllib.request

    from tests.bot.conftest import wait_for

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url, called, _ = web_api
    env = _socket_mode_env(url, port, oauth=True)
    process = subprocess.Popen([PAPERS, "--db", str(tmp_path / "p.db"), command], env=env)

    def page() -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/slack/install") as answer:
                return answer.read().decode()
        except OSError:
            return None

    try:
        assert "https://slack.com/oauth/v2/authorize?state=" in wait_for(page)
        # The page is served from before the connection is asked for: both are there.
        assert wait_for(lambda: "apps.connections.open" in called or process.poll() is not None)
        assert "apps.connections.open" in called and process.poll() is None
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("command", ["serve", "run"])
def test_an_app_token_slack_refuses_is_one_clear_error(tmp_path, busy_port, web_api, command):
    """A mistyped or revoked SLACK_APP_TOKEN ended the bot with Bolt's traceback."""
    url, _, refused = web_api
    refused["apps.connections.open"] = "invalid_auth"
    env = _socket_mode_env(url, busy_port)
    done = subprocess.run(
        [PAPERS, "--db", str(tmp_path / "p.db"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Error: Slack refused SLACK_APP_TOKEN (invalid_auth)" in done.stderr
    assert "Traceback" not in done.stderr and "xapp-test" not in done.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        pytest.param(("serve", "--port", "70000"), "--port", id="serve-too-high"),
        pytest.param(("serve", "--port", "0"), "--port", id="serve-zero"),
        pytest.param(("standin", "--port", "70000"), "--port", id="standin-too-high"),
        pytest.param(("run", "--standin-port", "-1"), "--standin-port", id="run-negative"),
    ],
)
def test_a_port_out_of_range_is_a_usage_error_not_another_port(tmp_path, args, option):
    # `serve --port 70000` listened on 4464 (70000 mod 65536) and `--port 0` on PORT,
    # both silently; `standin --port 70000` and `run --standin-port -1` printed a traceback.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    env.update({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"})
    env["PORT"] = str(_free_port())
    ran = subprocess.run(
        [PAPERS, "--db", str(tmp_path / "p.db"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=20,
    )
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.startswith("Usage: papers")
    assert f"Invalid value for '{option}'" in ran.stderr
    assert "is not in the range 1<=x<=65535" in ran.stderr


def test_papers_standin_prints_a_bot_command_that_works_with_it(tmp_path, seeded_path):
    # README: `papers standin` runs the stand-in alone and prints what `papers serve` needs.
    # It printed only the signing secret: the bot then stopped at "SLACK_BOT_TOKEN is not
    # set", and with any token it would have called Slack's real API, not the stand-in.
    import shlex
    import urllib.request

    from tests.bot.conftest import wait_for

    port, app_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    standin = subprocess.Popen(
        [PAPERS, "standin", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "PORT": str(app_port)},
        stdout=subprocess.PIPE,
        text=True,
    )
    bot = None
    try:
        lines = printed_lines(standin.stdout, 3)
        assert "Slack stand-in at" in lines[0]
        assert len(lines) == 3 and "Start the bot against it" in lines[1], lines
        hint = lines[1:]
        words = shlex.split(hint[1])
        settings = dict(w.split("=", 1) for w in words if "=" in w and w[0].isupper())
        command = [w for w in words if w not in {f"{k}={v}" for k, v in settings.items()}]
        assert command[0] == "papers" and "serve" in command
        assert settings["SLACK_API_URL"] == f"http://127.0.0.1:{port}/api/"
        bot = subprocess.Popen(
            [PAPERS, "--db", str(seeded_path), *command[1:]],
            cwd=tmp_path,
            env={**env, "PORT": str(app_port), **settings},
            stderr=subprocess.DEVNULL,
        )

        def replied() -> bool:
            form = b"text=lora"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stub/command", form, timeout=5)
            except OSError:
                return False
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stub/state") as answer:
                state = json.load(answer)
            return any("2 papers match" in e.get("text", "") for e in state["ephemerals"])

        assert wait_for(replied, timeout=30)
    finally:
        for process in (bot, standin):
            if process:
                process.terminate()
                process.wait(timeout=10)


def test_ctrl_c_stops_papers_standin_quietly(tmp_path, ctrl_c):
    # As Ctrl-C stops `papers serve` and `papers worker`: it printed click's "Aborted!"
    # and exited 1, as if something had failed.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    command = [PAPERS, "standin", "--port", str(_free_port())]
    standin = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with standin:
        assert len(printed_lines(standin.stdout, 3)) == 3  # it is serving
        standin.send_signal(signal.SIGINT)
        assert standin.wait(timeout=20) == 0
        assert standin.stderr.read() == b""


def test_ingest_that_grows_the_store_past_one_shard_says_to_reindex(tmp_path, monkeypatch):
    # README: a store that grows past 100,000 papers keeps its one shard until it is
    # rebuilt. `papers ingest` (and so `make run`, which ingests seeds/ first) is where it
    # grows, but only `papers worker` said so.
    from storage import index as search_index

    monkeypatch.setattr(search_index, "SHARD_PAPERS", 100)  # 111 seed papers count as large
    db = tmp_path / "p.db"
    small = run(db, "ingest", str(SEEDS / "000_db82ecd9bbfd133f.txt"))
    assert small.returncode == 0 and "reindex" not in small.stdout + small.stderr
    grown = run(db, "ingest", str(SEEDS))
    assert grown.returncode == 0
    assert grown.stderr == (
        "The store holds 111 papers and its search index one shard: run `papers reindex`"
        " once to split it in two, searched on two cores at once.\n"
    )
    assert "Indexed 111 papers" in run(db, "reindex").stdout
    again = run(db, "ingest", str(SEEDS))
    assert again.returncode == 0 and again.stderr == ""


def test_ingest_of_a_url_keeps_to_papers_feed_deadline(tmp_path, drip_server, monkeypatch):
    # README: a fetch has a total deadline, PAPERS_FEED_DEADLINE. `papers ingest URL` used
    # the built-in 120 s whatever the setting said.
    monkeypatch.setenv("PAPERS_FEED_DEADLINE", "1")
    result = run(tmp_path / "p.db", "ingest", drip_server.url())
    assert result.returncode == 1
    assert result.stdout.endswith(": took longer than 1 s, gave up\n")


def test_a_feed_cut_inside_its_first_item_fails_and_shows_failing_in_stats(tmp_path):
    db, feed = tmp_path / "p.db", tmp_path / "cs.CL.xml"
    rss = (FIXTURES / "arxiv_rss.xml").read_bytes()
    feed.write_bytes(rss[: rss.index(b"<description>arXiv:2603.01234")])
    result = run(db, "ingest", str(feed))
    assert result.returncode == 1
    error = "not a readable RSS/Atom feed: no paper found (1× no abstract; 1× broken XML"
    assert f"{feed}: FAILED: {error}" in result.stdout + result.stderr
    assert f"- {feed} (feed): failing: {error}" in run(db, "stats").stdout


def test_the_worker_without_a_bot_token_refuses_to_start_and_pauses_nothing(
    seeded_path, monkeypatch
):
    from datetime import UTC, datetime, timedelta

    from storage import subscriptions as subs

    # A deployment that forgot its .env: the worker must say so, not pause every due
    # subscription with "no bot token for this team" (they would stay paused after).
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    db = connect(seeded_path)
    sub = add_subscription(db, "T1", "U1", "C1", due=datetime.now(UTC) - timedelta(minutes=1))
    db.close()
    result = run(seeded_path, "worker")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: SLACK_BOT_TOKEN is not set (or set SLACK_CLIENT_ID/SECRET for OAuth)"
    )
    db = connect(seeded_path)
    assert subs.by_id(db, sub.id).status == "active"


@pytest.mark.parametrize(
    ("env", "error"),
    [
        pytest.param(
            {"SLACK_CLIENT_ID": "111.222"},
            "Error: SLACK_CLIENT_SECRET is not set (OAuth needs SLACK_CLIENT_ID and"
            " SLACK_CLIENT_SECRET; or set SLACK_BOT_TOKEN for one workspace)",
            id="client-id-without-secret",
        ),
        # It started, and every delivery run failed on the missing key, once a minute.
        pytest.param(
            {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "s"},
            "Error: PAPERS_TOKEN_KEY is not set (needed to store OAuth tokens).",
            id="oauth-without-token-key",
        ),
    ],
)
def test_the_worker_with_half_an_oauth_setup_refuses_to_start(seeded_path, monkeypatch, env, error):
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "PAPERS_TOKEN_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run(seeded_path, "worker")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(error)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "title", [pytest.param("&" * 300, id="ampersands"), pytest.param("🧠" * 300, id="emoji")]
)
def test_digest_preview_lists_the_papers_the_digest_sends(seeded_path, title):
    """A digest holds the papers that fit one Slack message; the preview listed every paper
    selected, five titles above Block Kit that held fewer."""
    from datetime import UTC, datetime

    from storage.trending import trending

    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "C1", now=datetime.now(UTC))
    for paper in trending(db, datetime.now(UTC), "day", limit=5):
        db["papers"].update(paper["id"], {"title": title, "abstract": title * 10})
    db.close()
    result = run(seeded_path, "digest", "--subscription", "1")
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    blocks = json.loads(result.stdout[result.stdout.index("\n[") :])
    sections = [b for b in blocks if b["type"] == "section"]
    assert 1 <= len(listed) == len(sections) < 5
    assert result.stdout.splitlines()[1].endswith(f": {len(listed)} papers")


def test_one_arxiv_replacement_is_said_in_the_singular(tmp_path):
    rss = FIXTURES / "arxiv_rss.xml"  # one new paper, one replacement
    ran = run(tmp_path / "papers.db", "ingest", str(rss))
    assert "; 1 arXiv replacement (never alerted)" in ran.stdout


def test_a_paper_listed_twice_in_one_input_is_accounted_for(tmp_path):
    # "3 parsed, 2 new papers, 0 merged sightings, 0 skipped": the third entry, the same
    # paper again, was said nowhere.
    item = {"paper": {"id": "2603.01234", "title": "LoRA Soup", "summary": "We merge LoRA."}}
    other = {"paper": {"id": "2603.05555", "title": "LoRA Routing", "summary": "We route."}}
    path = tmp_path / "daily.json"
    path.write_text(json.dumps([item, other, item]), encoding="utf-8")
    ran = run(tmp_path / "papers.db", "ingest", str(path))
    assert ran.stdout.startswith(f"{path}: 3 parsed, 2 new papers, 0 merged sightings, 0 skipped")
    assert "; 1 entry repeated a paper earlier in this input" in ran.stdout


def test_the_readme_says_where_make_installs_the_papers_command():
    # After `make run`, the README's `papers stats` answered "command not found": the
    # command is in the virtualenv the Makefile makes, which nothing puts on PATH.
    import re
    import tomllib

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    venv = re.search(r"^VENV := (\S+)$", makefile, re.M).group(1)
    (script,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert f"$(BIN)/{script} $(DB_OPTION) run" in makefile  # what `make run` starts
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The `papers` command line", 1)[1].split("\n## ", 1)[0]
    assert f"`{venv}/bin/{script} stats`" in section
    assert f"`. {venv}/bin/activate`" in section


@pytest.mark.parametrize("command", sorted(main.commands), ids=str)
def test_every_option_says_what_it_does_in_help(command):
    # `search --limit`, `trending --window`/`--limit` and `standin --port` had no words, and
    # `digest --help` showed `[1<=x<=9223372036854775807]` for a subscription id.
    options = [p for p in main.commands[command].params if isinstance(p, click.Option)]
    assert [o.name for o in options if not o.hidden and not o.help] == []
    shown = CliRunner().invoke(main, [command, "--help"]).output
    assert "9223372036854775807" not in shown


def test_ctrl_c_while_the_command_starts_is_one_line_too(tmp_path):
    # Ctrl-C in the half second `papers` imports click and the rest (`make run` starts it
    # twice) printed a traceback through click's imports. The interrupt is raised where
    # it landed: at the import of the CLI, in a process of its own.
    interrupt = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'papers.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from papers.__main__ import main\n"
        "main()\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", interrupt, "stats"], capture_output=True, text=True, cwd=ROOT
    )
    assert ran.returncode == 130
    assert ran.stderr.strip().splitlines() == ["Interrupted."]


@pytest.mark.parametrize(
    "typed",
    [
        "2603.04567",
        "arXiv:2603.04567v1",
        "https://arxiv.org/abs/2603.04567",
        "arxiv.org/pdf/2603.04567",
    ],
)
def test_search_by_arxiv_id_or_link_shows_the_stored_paper(tmp_path, typed):
    """`papers search 2603.04567` said "No papers match" for a paper in the store (the id is
    no word of the index); `/papers` looks it up by its id, and so does the CLI now."""
    db = tmp_path / "p.db"
    ingest_target(connect(db), str(FIXTURES / "hf_daily.json"), NOW)
    shown = run(db, "search", typed).stdout
    assert shown.startswith("1 paper matches") and "Diffusion Transformers" in shown
    found = json.loads(run(db, "search", typed, "--json").stdout)
    assert found["total"] == 1 and found["papers"][0]["arxiv_id"] == "2603.04567"
    assert "No papers match '2603.99999'" in run(db, "search", "2603.99999").stdout


def test_search_says_author_among_other_words_is_searched_as_a_word(seeded_path):
    """`papers search lora author:hu` said only "No papers match": `author:` takes a name on
    its own, and the CLI says so."""
    shown = run(seeded_path, "search", "lora author:hu").stdout
    assert "`author:` is searched as a word here" in shown


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("author:juergen mueller", id="umlauts-spelled-out"),
        pytest.param('author:"Jurgen Muller"', id="umlauts-dropped"),
        pytest.param("author:Jürgen Müller", id="as-written"),
    ],
)
def test_search_author_lists_that_authors_papers_with_or_without_umlauts(tmp_path, typed):
    """`papers search author:juergen mueller` said "No papers match" (`author:` searched as
    a word): alone it lists the author's papers, as `/papers author:` does, accents optional."""
    db = tmp_path / "p.db"
    papers = [
        (
            "2603.08001",
            "Sparse Mixtures of Adapters",
            [{"name": "Jürgen Müller"}, {"name": "Ada Lovelace"}],
        ),
        ("2603.08003", "Another Mueller Entirely", [{"name": "Jan Müller"}]),
    ]
    hf = [
        {"paper": {"id": i, "title": t, "summary": f"We study {t}.", "authors": names}}
        for i, t, names in papers
    ]
    (tmp_path / "hf.json").write_text(json.dumps(hf), encoding="utf-8")
    ingest_target(connect(db), str(tmp_path / "hf.json"), NOW)
    shown = run(db, "search", typed).stdout
    assert shown.startswith("1 paper by ") and "Sparse Mixtures of Adapters" in shown
    assert "Jürgen Müller, Ada Lovelace" in shown and "Another Mueller" not in shown
    found = json.loads(run(db, "search", typed, "--json").stdout)
    assert found["total"] == 1 and found["papers"][0]["authors"][0] == "Jürgen Müller"
    # The fields of any `search --json` (it gave only author, total, people and papers).
    searched = json.loads(run(db, "search", "adapters", "--json").stdout)
    assert set(found) >= set(searched) and set(found["papers"][0]) >= set(searched["papers"][0])
    assert found["query"] == typed and found["papers"][0]["score"] is None


@pytest.mark.parametrize("typed", [("lora", "-survey"), ("-survey", "lora")], ids=["end", "start"])
def test_an_excluded_word_typed_unquoted_is_the_querys(seeded_path, typed):
    # `papers search lora -survey` said "No such option: -s": click read the exclusion as
    # options -s -u -r ..., and only the quoted query worked.
    unquoted = run(seeded_path, "search", *typed)
    quoted = run(seeded_path, "search", "lora -survey")
    assert unquoted.returncode == 0 and unquoted.stdout == quoted.stdout
    mistyped = run(seeded_path, "search", "lora", "--limt", "3")
    assert mistyped.returncode == 2 and "No such option '--limt'" in mistyped.stderr
    assert "Did you mean '--limit'?" in mistyped.stderr


def test_a_bot_killed_by_an_index_file_cut_short_under_it_says_why(seeded_path, tmp_path):
    """tantivy maps the index's files into memory: one truncated under a running bot (a
    disk fault, an admin's mistake) kills it with SIGBUS, which Python cannot catch. It died
    without a line in its log; the log now says what killed it and where."""
    import socket

    from slackstub import SlackStandIn

    def listening(port: int) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    stub = SlackStandIn().start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stub.app_url = f"http://127.0.0.1:{port}/slack/events"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": stub.token,
            "SLACK_SIGNING_SECRET": stub.signing_secret,
            "SLACK_API_URL": stub.api_url,
        }
    )
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        command = [PAPERS, "--db", str(seeded_path), "serve", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: listening(port), timeout=30)
        first = stub.command("lora")  # the bot opens the index for it
        assert "lora" in wait_for(lambda: stub.responses(first["response_id"]))[0]["text"]
        for path in Path(f"{seeded_path}.index").rglob("*.term"):
            path.write_bytes(b"")  # cut short under the bot's mapping
        stub.command("lora")
        assert process.wait(timeout=30) == -signal.SIGBUS
        assert "Fatal Python error: Bus error" in log.read_text()
    finally:
        process.kill()
        process.wait(timeout=10)
        stub.stop()


def test_digest_preview_holds_the_papers_the_worker_sends_at_the_due_time(seeded_path, monkeypatch):
    """A weekly digest due Monday Mar 16 previewed on Friday Mar 13: the preview picked the
    week ending Friday (the Mar 12 papers), while the worker, at its due time, sends the week
    ending Monday (the Mar 16 papers first), under the same heading."""
    from datetime import UTC, datetime

    import papers.cli
    from jobs.digests import build_digest

    friday = datetime(2026, 3, 13, 12, tzinfo=UTC)
    db = connect(seeded_path)
    sub = add_subscription(db, "T1", "U1", "C1", now=friday, frequency="weekly", weekday=0)
    due = datetime.fromisoformat(sub.next_due_at)
    assert due == datetime(2026, 3, 16, 9, tzinfo=UTC)
    config = Config(db_path=str(seeded_path))
    sent = build_digest(db, config, sub, due).paper_ids
    titles = [p["title"] for p in db.query("SELECT id, title FROM papers") if p["id"] in sent]
    db.close()
    monkeypatch.setattr(papers.cli, "_now", lambda: friday)
    result = run(seeded_path, "digest", "--subscription", str(sub.id))
    assert result.returncode == 0, result.stderr
    listed = [line[4:] for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert sorted(listed) == sorted(titles) and listed


def test_stats_says_what_an_admin_must_act_on_beyond_sources(seeded_path):
    """`papers stats` counted papers and sources only: a subscription Slack paused (and
    why), digests failed or waiting for a retry and a search index behind the database
    were nowhere an admin could see them."""
    db = connect(seeded_path)
    ok = add_subscription(db, "T1", "U1", "C1")
    gone = add_subscription(db, "T1", "U1", "C2")
    reason = "Slack said channel_not_found"
    db["subscriptions"].update(gone.id, {"status": "paused", "paused_reason": reason})
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    db["deliveries"].insert_all(
        [
            {
                "subscription_id": ok.id,
                "period": "2026-03-09",
                "state": "failed",
                "finished_at": (now - timedelta(days=8)).isoformat(),
            },  # history: not counted
            {
                "subscription_id": ok.id,
                "period": "2026-03-16",
                "state": "failed",
                "finished_at": now.isoformat(),
            },
            {"subscription_id": ok.id, "period": "2026-03-17", "state": "claimed"},
        ]
    )
    db.close()
    out = run(seeded_path, "stats").stdout
    assert "subscriptions: 1 active, 1 paused" in out
    assert f"  - #{gone.id} → C2: paused: Slack said channel_not_found" in out
    assert "deliveries: 1 failed in the last 7 days, 1 waiting to be sent or retried" in out
    assert "search index: up to date" in out
    data = json.loads(run(seeded_path, "stats", "--json").stdout)
    assert data["subscriptions"] == {
        "active": 1,
        "paused": [{"id": gone.id, "target": "C2", "reason": "Slack said channel_not_found"}],
    }
    assert data["deliveries"] == {"failed_last_7_days": 1, "pending": 1}
    assert data["index"] == {"built": True, "papers_behind": 0}
