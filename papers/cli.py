"""The `papers` command line: ingest, search, trending, stats, and the bot and worker."""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import logging
import re
import sqlite3
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.text import matches, plural
from papers.logsafe import scrub_url, setup_logging
from storage.config import Config
from storage.errors import PapersError

if TYPE_CHECKING:  # imported where used: `papers --help` loads no search engine
    from storage.search import SearchResult

log = logging.getLogger("papers")
# A port out of range is a usage error: the servers would wrap 70000 to 4464, or trace back.
PORT_RANGE = click.IntRange(1, 65535)
LIMIT = click.IntRange(1, 100)


class _SubscriptionId(click.ParamType):
    """A subscription id: a SQLite rowid, so a number past its integers is a usage error,
    not a traceback (and the help shows `ID`, not click's 19-digit range)."""

    name = "ID"

    def convert(self, value, param, ctx) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number < 2**63:
            self.fail(
                f"{value!r} is not a subscription id (a number from /papers list)", param, ctx
            )
        return number


SUBSCRIPTION_ID = _SubscriptionId()
# The commands that create a missing database: an ingest, and a fresh install's first start.
CREATE_DATABASE = {"ingest", "serve", "worker", "run"}
# What a Ctrl-C leaves behind, said when it stops the command. Each input and each batch
# of a big one commits on its own; ingesting again skips what is stored.
INTERRUPTED = {
    "ingest": (
        ": the papers stored so far are kept; run the same `papers ingest` again to finish"
        " (what is stored is not stored twice)"
    ),
    "reindex": ": searches keep using the old index; run `papers reindex` again",
}
# The options of `papers` itself, which come before the command.
GROUP_OPTIONS = {"--db": "--db PATH", "-v": "-v", "--verbose": "--verbose"}


def _now() -> datetime:
    return datetime.now(UTC)


def _db(ctx: click.Context, create: bool = False):
    """The database; only `ingest` creates a missing one (a typo'd --db is an error)."""
    from storage import connect

    return connect(ctx.obj["config"].db_path, create=create)


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


class _Group(click.Group):
    """Turns our named errors into one clear line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:
            if exc.option_name in GROUP_OPTIONS:  # `papers search lora --db x.db`
                exc.message += (
                    f" {exc.option_name} goes before the command: "
                    f"papers {GROUP_OPTIONS[exc.option_name]} {ctx.invoked_subcommand} ..."
                )
            raise
        except KeyboardInterrupt:
            # Ctrl-C: one line saying what it left (click's own is a bare "Aborted!").
            after = INTERRUPTED.get(ctx.invoked_subcommand or "", "")
            click.echo(f"\nInterrupted{after}.", err=True)
            sys.exit(130)  # the shell's status for a command stopped by SIGINT
        except PapersError as exc:
            _fail(str(exc))
        except sqlite3.DatabaseError as exc:  # corrupt pages past the header, a full disk
            from storage.db import explain

            _fail(str(explain(ctx.obj["config"].db_path, exc)))


@click.group(cls=_Group)
@click.option(
    "--db",
    "db_path",
    envvar="PAPERS_DB",
    metavar="PATH",
    help="SQLite file (default: PAPERS_DB, else data/papers.db); before the command.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.pass_context
def main(ctx: click.Context, db_path: str | None, verbose: bool) -> None:
    """papers: ML papers in Slack: search, trending digests and keyword alerts."""
    # A fatal signal Python cannot catch (SIGBUS from an index file cut short under
    # tantivy's memory map) leaves its cause and the threads' stacks in the log, not silence.
    # A stderr with no file descriptor (captured in memory) has nowhere to write them.
    with contextlib.suppress(io.UnsupportedOperation, ValueError):
        faulthandler.enable()
    config = Config.from_env().with_db(db_path)
    setup_logging(config, verbose)
    # Only the default data/ folder is made on demand, and only by the commands that create
    # a database; a path the user typed in a missing folder is an error (storage.connect),
    # never a new empty database somewhere.
    creates = ctx.invoked_subcommand in CREATE_DATABASE
    if creates and Path(config.db_path).parent == Path(Config.db_path).parent:
        Path(config.db_path).parent.mkdir(parents=True, exist_ok=True)
    ctx.obj = {"config": config, "verbose": verbose}


@main.command()
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--date",
    "listing",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Listing date of dumps that have no date line.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.pass_context
def ingest(ctx: click.Context, targets: tuple[str, ...], listing: datetime | None, as_json: bool):
    """Ingest dump files, folders of them, RSS/Atom feeds and HF JSON (paths or URLs)."""
    from jobs.ingest import ingest_target
    from storage import index as search_index

    if not ctx.obj["verbose"]:
        # The report lines below say what each input did; the log would say it twice.
        logging.getLogger("jobs").setLevel(logging.WARNING)
    db = _db(ctx, create=True)
    # Index what an interrupted ingest left past the index's watermark (or rebuild it).
    search_index.ensure(db)
    day: date | None = listing.date() if listing else None
    config = ctx.obj["config"]
    options = {"batch": config.ingest_batch, "deadline": config.feed_deadline_seconds}
    reports = [
        report
        for target in targets
        for report in ingest_target(db, target, _now(), day, empty_folder_fails=True, **options)
    ]
    if as_json:
        # Redacted as the report lines are: a feed URL may carry its password or key.
        click.echo(json.dumps(_scrubbed([r.as_dict() for r in reports]), indent=2))
    else:
        for r in reports:
            click.echo(_describe(r))
        if len(reports) > 1:
            parsed, new, merged, skipped = (
                sum(getattr(r, f) for r in reports)
                for f in ("parsed", "new_papers", "merged", "skipped")
            )
            line = (
                f"total: {parsed} parsed, {plural(new, 'new paper')}, "
                f"{plural(merged, 'merged sighting')}, {skipped} skipped"
            )
            by_rule: dict[str, int] = {}
            for r in reports:
                for rule, n in r.merges_by_rule.items():
                    by_rule[rule] = by_rule.get(rule, 0) + n
            click.echo(line + _rules(by_rule))
    hint = search_index.split_hint(db)
    if hint:  # on stderr: a hint, never part of the reports (or their JSON)
        click.echo(hint, err=True)
    if any(r.error for r in reports):
        sys.exit(1)


def _describe(report) -> str:
    return scrub_url(_describe_raw(report))


def _describe_raw(report) -> str:
    if report.error:
        return f"{report.source}: FAILED: {report.error}"
    if report.empty:
        return f"{report.source}: empty file, nothing ingested"
    if report.already_ingested:
        return f"{report.source}: already ingested, nothing changed"
    if report.not_modified:
        return f"{report.source}: not modified since the last fetch"
    reasons = "; ".join(f"{n}× {why}" for why, n in report.skip_reasons.items())
    line = (
        f"{report.source}: {report.parsed} parsed, {plural(report.new_papers, 'new paper')}, "
        f"{plural(report.merged, 'merged sighting')}, {report.skipped} skipped"
    )
    line += f" ({reasons})" if reasons else ""
    if report.resumed:  # not new, not merged, no repeat: said, or the counts fall short
        entries = plural(report.resumed, "entry", "entries")
        line += f"; {entries} stored by an earlier, unfinished ingest of this input"
    if report.repeated:  # one sighting per paper and input: said, or the counts fall short
        entries = plural(report.repeated, "entry", "entries")
        line += f"; {entries} repeated a paper earlier in this input"
    if report.revisions:
        line += f"; {plural(report.revisions, 'arXiv replacement')} (never alerted)"
    if report.undated:
        line += "; undated (no date line, --date or date in the file name)"
    return line + _rules(report.merges_by_rule)


def _rules(by_rule: dict[str, int]) -> str:
    """How many merges each dedup rule made, e.g. "; merged by title 6, abstract 1"."""
    if not by_rule:
        return ""
    return "; merged by " + ", ".join(f"{rule} {n}" for rule, n in sorted(by_rule.items()))


# Unknown options are query words: `papers search lora -survey` excludes a word, as
# `/papers lora -survey` does (click took `-survey` for options -s -u -r...).
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--limit", default=10, show_default=True, type=LIMIT, help="How many papers to show.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def search(ctx: click.Context, query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Search papers: words (all must match), "phrases", OR, -exclude, prefix*."""
    from bot.commands import arxiv_ref
    from bot.more_commands import author_name
    from storage.papers import by_arxiv_id
    from storage.search import SearchResult
    from storage.search import search as run_search

    # A `-word` is the query's; an option of papers itself, or any `--word` (no query's
    # word: a mistyped option, `--limt`), is refused as click refused it before.
    for word in query:
        if word in GROUP_OPTIONS or (word.startswith("--") and word != "--"):
            options = [o for param in ctx.command.params for o in param.opts]
            raise click.NoSuchOption(word.split("=", 1)[0], possibilities=options, ctx=ctx)
    query = tuple(word for word in query if word != "--")
    config = ctx.obj["config"]
    db, text = _db(ctx), " ".join(query)
    if (name := author_name(text)) is not None:
        _author_papers(db, text, name, limit, as_json)
        return
    # An arXiv id or link is no word of the index: the paper is looked up by its id (as
    # `/papers 2106.09685` does), else the id searched; "No papers match" a stored paper.
    ref = arxiv_ref(text.strip())
    paper = by_arxiv_id(db, ref) if ref else None
    if paper is not None:
        result = SearchResult(text, [paper | _NOT_SEARCHED], 1, 0, limit)
    else:
        result = run_search(db, ref or text, limit=limit, max_chars=config.max_query_chars)
        if _AUTHOR.search(text):
            result.notes.insert(0, AUTHOR_NOTE)
    if as_json:
        _echo_json(result)
        return
    if not result.papers:
        hint = f" Did you mean: {result.suggestions[0]}?" if result.suggestions else ""
        click.echo(f"No papers match {result.query!r}.{hint}")
        _echo_notes(result.notes)
        return
    total = f"{result.total:,}+" if result.total_capped else f"{result.total:,}"
    click.echo(f"{matches(total)}; best {len(result.papers)}:")
    _echo_notes(result.notes)
    for paper in result.papers:
        score = "" if paper["score"] is None else f"  score {paper['score']}"
        click.echo(f"- {paper['title']}  [{paper['url'] or 'no link'}]{score}")


# `author:` among other words (`lora author:hu`) is searched as a word, and the CLI says so;
# `author:"Edward J. Hu"` alone lists that author's papers, as `/papers author:` does.
_AUTHOR = re.compile(r"(?:^|\s)-?author:", re.IGNORECASE)
AUTHOR_NOTE = (
    '`author:` is searched as a word here: `papers search author:"Edward J. Hu"` on its own'
    " lists one author's papers."
)


def _author_papers(db, query: str, name: str, limit: int, as_json: bool) -> None:
    """Print one author's newest papers (storage.authors.papers_by: accents optional)."""
    from storage.authors import papers_by
    from storage.papers import get_papers
    from storage.search import SearchResult

    found = papers_by(db, name, limit)
    papers = get_papers(db, found.paper_ids)
    many = len(found.people) > 1
    notes = [f"{found.name.display} could be {', '.join(found.people)}."] if many else []
    if as_json:
        # A search's fields (a script reads any `search --json` alike), with who it found.
        listed = [paper | _NOT_SEARCHED for paper in papers]
        result = SearchResult(query, listed, found.total, 0, limit, notes=notes)
        _echo_json(result, author=found.name.display, people=found.people)
        return
    if not papers:
        click.echo(f"No papers by {found.name.display}.")
        return
    click.echo(f"{plural(found.total, 'paper')} by {found.name.display}, the latest added first:")
    _echo_notes(notes)
    for paper in papers:
        names = ", ".join(paper["authors"][:3]) + (", …" if len(paper["authors"]) > 3 else "")
        click.echo(f"- {paper['title']}  [{paper['url'] or 'no link'}]  {names}")


# The fields of a paper that was looked up or listed rather than searched.
_NOT_SEARCHED = {"score": None, "snippet": ""}


def _echo_json(result: SearchResult, **extra) -> None:
    """Print a search's result as `search --json` does (`extra`: fields of its own kind)."""
    shown = {
        "query": result.query,
        "total": result.total,
        "total_capped": result.total_capped,
        "suggestions": result.suggestions,
        "notes": result.notes,
        **extra,
        "papers": [_plain_snippet(p) for p in result.papers],
    }
    click.echo(json.dumps(shown, indent=2, ensure_ascii=False))


def _echo_notes(notes: list[str]) -> None:
    """What the query could not search as typed (a word left out, `C++` searched as `C`)."""
    for note in notes:
        click.echo(f"Note: {note}")


def _plain_snippet(paper: dict) -> dict:
    paper = dict(paper)
    paper["snippet"] = paper.get("snippet", "").replace("\x02", "").replace("\x03", "")
    return paper


@main.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the search index from the database (searches keep the old one meanwhile)."""
    from storage import index as search_index

    db = _db(ctx)
    total = search_index.paper_count(db)
    start = time.perf_counter()
    with click.progressbar(length=total, label="Indexing papers", file=sys.stderr) as bar:
        done = search_index.reindex(db, progress=bar.update)
    seconds = time.perf_counter() - start
    click.echo(f"Indexed {done} papers in {seconds:.1f} s into {search_index.index_dir(db)}")


@main.command()
@click.option(
    "--window",
    type=click.Choice(["day", "week"]),
    default="day",
    show_default=True,
    help="The newest listing day, or the week to it.",
)
@click.option("--limit", default=10, show_default=True, type=LIMIT, help="How many papers to show.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def trending(ctx: click.Context, window: str, limit: int, as_json: bool) -> None:
    """The trending papers of the newest day or week, with the reason for each."""
    from bot.views import reason_text
    from storage.trending import trending as run_trending

    papers = run_trending(_db(ctx), _now(), window, limit)
    for paper in papers:
        paper["reason"] = reason_text(paper.pop("signals"))
    if as_json:
        click.echo(json.dumps(papers, indent=2, ensure_ascii=False))
        return
    if not papers:
        click.echo("Nothing listed yet: run `papers ingest seeds/` first.")
    for rank, paper in enumerate(papers, 1):
        click.echo(f"{rank}. {paper['title']}  ({paper['reason']}; score {paper['score']})")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of papers, sightings and inputs, and the state of each source."""
    from storage import deliveries
    from storage import index as search_index
    from storage.papers import stats as run_stats

    db = _db(ctx)
    data = run_stats(db, ctx.obj["config"].feed_urls)
    # What needs the admin beyond the sources: paused subscriptions, failed deliveries, and
    # a search index behind the database (papers stored but not searchable yet).
    data |= deliveries.health(db, _now())
    behind = search_index.papers_behind(db)
    data["index"] = {"built": behind is not None, "papers_behind": behind}
    if as_json:
        click.echo(json.dumps(_scrubbed(data), indent=2))
        return
    click.echo(
        f"{plural(data['papers'], 'paper')} ({data['untitled']} untitled), "
        f"{plural(data['sightings'], 'sighting')}, {plural(data['inputs'], 'input')}"
    )
    for source in data["sources"]:
        click.echo(scrub_url(f"- {source['name']} ({source['kind']}): {_source_state(source)}"))
    subscriptions, sent = data["subscriptions"], data["deliveries"]
    paused = subscriptions["paused"]
    click.echo(f"subscriptions: {subscriptions['active']} active, {len(paused)} paused")
    for sub in paused:
        click.echo(f"  - #{sub['id']} → {sub['target']}: paused: {sub['reason'] or 'by a member'}")
    failed = sent[f"failed_last_{deliveries.FAILED_DAYS}_days"]
    click.echo(
        f"deliveries: {failed} failed in the last {deliveries.FAILED_DAYS} days,"
        f" {sent['pending']} waiting to be sent or retried"
    )
    if behind is None:
        click.echo(
            "search index: missing or outdated (rebuilt at the next start, or run papers reindex)"
        )
    elif behind:
        click.echo(
            f"search index: {plural(behind, 'paper')} not indexed yet"
            " (indexed by the next ingest or worker start)"
        )
    else:
        click.echo("search index: up to date")


def _scrubbed(value):
    """The value with URL secrets redacted in each of its strings. Scrubbing the printed
    JSON instead let a key at a URL's end take the closing quote with it: invalid JSON."""
    if isinstance(value, str):
        return scrub_url(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def _source_state(source: dict) -> str:
    """How `papers stats` words a source: a URL no longer in PAPERS_FEEDS is not fetched
    again, so its last failure is history, not a feed failing now."""
    error = source["last_error"]
    if source["configured"] is False:
        last = f"; its last read failed: {error}" if error else ""
        return f"no longer fetched (not in PAPERS_FEEDS){last}"
    if error:
        return f"failing: {error}"
    if source.get("interrupted"):  # its papers so far are stored; the rest are not
        return (
            "not finished: being ingested now, or stopped midway"
            " (then run the same papers ingest again)"
        )
    return "ok"


@main.command()
@click.option("--port", type=PORT_RANGE, help="HTTP port (default PORT or 3000).")
@click.pass_context
def serve(ctx: click.Context, port: int | None) -> None:
    """Run the Slack bot: Socket Mode with SLACK_APP_TOKEN, else HTTP at /slack/events."""
    from bot.app import serve as run_serve
    from jobs.arxiv_lookup import arxiv_lookup
    from papers.local import listening_on

    config = ctx.obj["config"]
    if port is not None:
        config = replace(config, port=port)
    with listening_on(config.port, "--port" if port else "PORT"):
        run_serve(config, lookup=arxiv_lookup(config))


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the scheduler: ingest, keyword alerts and digests."""
    from jobs.worker import run as run_worker

    run_worker(ctx.obj["config"])


@main.command("run")
@click.option(
    "--standin-port",
    default=3001,
    show_default=True,
    type=PORT_RANGE,
    help="Port of the local Slack stand-in.",
)
@click.pass_context
def run_all(ctx: click.Context, standin_port: int) -> None:
    """Run the bot and the worker in one process (against the local stand-in without Slack)."""
    from papers.local import run_local

    run_local(ctx.obj["config"], standin_port)


@main.command()
@click.option(
    "--preview",
    is_flag=True,
    hidden=True,
    help="Accepted for old scripts: printing is all it does.",
)
@click.option(
    "--subscription",
    "subscription_id",
    type=SUBSCRIPTION_ID,
    help="Subscription id (the #3 that /papers list shows).",
)
@click.option("--team", metavar="T", help="Team id (with --channel).")
@click.option("--channel", metavar="C", help="Channel or user id (with --team).")
@click.pass_context
def digest(
    ctx: click.Context,
    preview: bool,
    subscription_id: int | None,
    team: str | None,
    channel: str | None,
) -> None:
    """Print a subscription's next digest as text and as Block Kit JSON, without sending."""
    from bot import views
    from bot.text import escape_mrkdwn
    from storage import subscriptions as subs
    from storage.digests import next_days, next_digest_papers

    config = ctx.obj["config"]
    db = _db(ctx)
    if subscription_id is not None:
        sub = subs.by_id(db, subscription_id)
        if sub is None:
            _fail("no such subscription")
            return
        if sub.is_instant:  # alerts and author follows: nothing is ever sent as a digest
            what = (
                f"follows {sub.author}" if sub.author else f"is an instant alert (`{sub.keywords}`)"
            )
            _fail(
                f"subscription #{sub.id} {what}: it gets no digest;"
                " its alerts go out as papers arrive"
            )
            return
        chosen = [sub]
    elif team and channel:
        chosen = [s for s in subs.visible_to(db, team, channel, channel) if not s.is_instant]
        if not chosen:
            _fail(f"no digest subscription for {channel} in {team}")
            return
    else:
        _fail("give --subscription ID, or --team T and --channel C")
        return
    now = _now()
    for sub in chosen:
        papers = next_digest_papers(db, sub, now, config.digest_size)
        heading = views.next_heading(sub, now, next_days(db, sub))
        first = sub.last_delivered_at is None
        # The papers one message holds (the rest wait for the next digest), and the message.
        papers, message = views.preview_digest(papers, heading, sub.id, config.empty_digest, first)
        paused = ""
        if sub.status == "paused":  # nothing goes out: the preview must not read as if it did
            why = f": {sub.paused_reason}" if sub.paused_reason else ""
            paused = f" (paused{why}; nothing is sent until it is resumed)"
        click.echo(f"# subscription #{sub.id} → {sub.target}{paused}")
        # The heading as typed: `Q&A` and `lora*`, not Slack's `Q&amp;A` and look-alike `lora∗`.
        click.echo(message["text"].replace(escape_mrkdwn(heading), heading, 1))
        for paper in papers:
            click.echo(f"  - {paper['title']}")
        click.echo(json.dumps(message["blocks"], indent=2, ensure_ascii=False))


@main.command()
@click.option(
    "--port", default=3001, show_default=True, type=PORT_RANGE, help="Port of its page and API."
)
@click.option(
    "--app-url",
    help="Where the stand-in sends commands and clicks [default: http://127.0.0.1:PORT/slack/events,"
    " PORT as `papers serve` reads it, 3000 unless set].",
)
@click.option(
    "--signing-secret",
    help="Secret to sign requests with (default: a fresh one; never SLACK_SIGNING_SECRET).",
)
@click.pass_context
def standin(ctx: click.Context, port: int, app_url: str | None, signing_secret: str | None) -> None:
    """Run only the local Slack stand-in (Web API, response_url and a page to try commands)."""
    import secrets
    import shlex
    import time
    import urllib.parse

    from papers.local import listening_on
    from slackstub import SlackStandIn

    app_url = app_url or f"http://127.0.0.1:{ctx.obj['config'].port}/slack/events"
    # Never the real secret from the environment: the stand-in signs whatever its page
    # sends, so with the real secret it would sign requests for anyone who can reach it.
    generated = not signing_secret
    signing_secret = signing_secret or secrets.token_hex(16)
    with listening_on(port, "--port"):
        stub = SlackStandIn(signing_secret=signing_secret, app_url=app_url, port=port).start()
    # From the first line printed: a Ctrl-C right after it (the banner read, the stand-in
    # up) stops the server as quietly as one later does.
    try:
        click.echo(f"Slack stand-in at {stub.url} (Web API {stub.api_url})")
        # Everything `papers serve` needs to answer it: its secret, the token the stand-in
        # accepts, its Web API (not Slack's) and the port it sends to.
        secret = shlex.quote(signing_secret) if generated else "<your --signing-secret>"
        app_port = urllib.parse.urlsplit(app_url).port
        serve = "papers serve" + (f" --port {app_port}" if app_port else "")
        click.echo("Start the bot against it with (local only):")
        click.echo(
            f"  SLACK_SIGNING_SECRET={secret} SLACK_BOT_TOKEN={stub.token}"
            f" SLACK_API_URL={stub.api_url} {serve}",
            nl=True,
        )
        while True:  # until Ctrl-C: stopping a server is no interruption to report
            time.sleep(3600)
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":
    main()
