"""Slowloris against the bot's HTTP front: N connections hold partial headers, then all
close at once; meanwhile a signed `/papers help` is sent every PROBE_EVERY seconds and its
ack time measured. Loopback only, bounded in connections and time.

    python -m bench.slowloris --servers waitress,wsgiref,gunicorn,uvicorn --sizes 4000,9000

Each candidate runs `bot.app.build_app` behind it in its own process:
- waitress: `papers serve` (what production uses; bot.app.HttpServer);
- wsgiref: the standard library's threaded WSGI server the bot used before (a thread per
  connection, no read timeout);
- gunicorn: one gthread worker with 16 threads, the guarded WSGI app;
- uvicorn: Bolt's ASGI adapter (no guard) on uvicorn's event loop.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from slackstub import SlackStandIn

PROBE_EVERY = 0.5
HOLD_SECONDS = 10
AFTER_SECONDS = 15
ACK_LIMIT = 3.0  # Slack's deadline
PARTIAL = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def target(kind: str):
    """The app for a candidate server, built from the environment (run in its process)."""
    from bot.app import build_app, wsgi_app
    from storage.config import Config

    app = build_app(Config.from_env())
    if kind == "asgi":
        from slack_bolt.adapter.asgi import SlackRequestHandler

        return SlackRequestHandler(app)
    return wsgi_app(app)


def wsgi():
    """gunicorn's entry point."""
    return target("wsgi")


def asgi():
    """uvicorn's entry point."""
    return target("asgi")


def _wsgiref(port: int) -> None:
    """The bot's previous front: socketserver threads, one per connection."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 256

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    make_server("127.0.0.1", port, wsgi(), server_class=Server, handler_class=Quiet).serve_forever()


def command(kind: str, port: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if kind == "waitress":
        return [str(bin_dir / "papers"), "serve", "--port", str(port)]
    if kind == "wsgiref":
        return [sys.executable, "-c", f"from bench.slowloris import _wsgiref; _wsgiref({port})"]
    if kind == "gunicorn":
        return [
            str(bin_dir / "gunicorn"),
            "-k",
            "gthread",
            "--threads",
            "16",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bench.slowloris:wsgi()",
        ]
    if kind == "uvicorn":
        return [
            str(bin_dir / "uvicorn"),
            "--factory",
            "bench.slowloris:asgi",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    raise ValueError(kind)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe(stub: SlackStandIn) -> float | None:
    """Seconds until a signed /papers help is acked, or None (error or over 10 s)."""
    start = time.monotonic()
    try:
        ok = stub.command("help")["status"] == 200
    except OSError:
        ok = False
    return time.monotonic() - start if ok else None


def probes(stub: SlackStandIn, seconds: float) -> list[float | None]:
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        out.append(probe(stub))
        time.sleep(PROBE_EVERY)  # the probe's pace, not a test's clock
    return out


def summary(values: list[float | None]) -> str:
    good = [v for v in values if v is not None]
    late = sum(1 for v in values if v is None or v >= ACK_LIMIT)
    worst = f"{max(good):.3f}" if good else "-"
    median = f"{statistics.median(good):.3f}" if good else "-"
    return f"{len(values)} probes, {late} over 3 s or failed, median {median} s, worst {worst} s"


def run_one(kind: str, size: int, workdir: Path) -> dict:
    secret = secrets.token_hex(16)
    stub = SlackStandIn(signing_secret=secret).start()
    port = free_port()
    stub.app_url = f"http://127.0.0.1:{port}/slack/events"
    env = {
        **os.environ,
        "PAPERS_DB": str(workdir / f"{kind}-{size}.db"),
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_BOT_TOKEN": stub.token,
        "SLACK_API_URL": stub.api_url,
        "PAPERS_COMMANDS_PER_MINUTE": "100000",
    }
    log = open(workdir / f"{kind}-{size}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(command(kind, port), env=env, stdout=log, stderr=log)
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while probe(stub) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not start")
            time.sleep(0.2)
        refused = 0
        for _ in range(size):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                sock.sendall(PARTIAL)
                held.append(sock)
            except OSError:
                refused += 1
                if refused >= 20:  # the server stopped accepting: that is the finding
                    break
        during = probes(stub, HOLD_SECONDS)
        for sock in held:
            sock.close()
        held.clear()
        after = probes(stub, AFTER_SECONDS)
    finally:
        for sock in held:
            sock.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        stub.stop()
    return {"server": kind, "size": size, "refused": refused, "during": during, "after": after}


def len_note(result: dict) -> str:
    if result["refused"] >= 20:
        return "server stopped accepting new connections before all were open"
    return f"{result['refused']} not connected"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", default="waitress")
    parser.add_argument("--sizes", default="4000,9000")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.servers.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                result = run_one(kind, size, Path(tmp))
                print(
                    f"{kind:9} {size:5} half-open ({len_note(result)}) | while"
                    f" held: {summary(result['during'])} | after close:"
                    f" {summary(result['after'])}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
