"""The house is one-way: storage imports nothing of ours above it, bot never imports jobs,
and nothing imports the CLI or the `make run` wiring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("storage", "bot", "jobs", "papers", "slackstub")
# What each package may import of ours (besides itself).
ALLOWED = {
    "storage": set(),
    "bot": {"storage"},
    "jobs": {"storage", "bot"},
    "slackstub": set(),
    "papers": {"storage", "bot", "jobs", "slackstub"},
}
# Only these of bot's modules may be imported by jobs: its rendering.
JOBS_MAY_USE_FROM_BOT = {"bot.views", "bot.text"}
TOP = {"papers.cli", "papers.local", "papers.__main__", "papers.logsafe"}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every module of ours a file imports, at any depth (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from bot import views` imports the module bot.views; `from bot.x import f`, bot.x.
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if _is_module(name) else node.module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _edges() -> list[tuple[str, str]]:
    return [
        (_module(path), target)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for target in sorted(_imports(path))
    ]


EDGES = _edges()


def test_the_walk_sees_the_code():
    # A walk that found nothing would make every rule below pass.
    assert len({source for source, _ in EDGES}) > 30
    assert ("jobs.delivery", "storage.deliveries") in EDGES


@pytest.mark.parametrize("package", sorted(ALLOWED), ids=str)
def test_each_package_imports_only_what_sits_below_it(package):
    wrong = [
        (source, target)
        for source, target in EDGES
        if source.split(".")[0] == package
        and target.split(".")[0] not in ALLOWED[package] | {package}
    ]
    assert wrong == []


def test_jobs_use_only_the_rendering_of_bot():
    wrong = [
        (source, target)
        for source, target in EDGES
        if source.startswith("jobs")
        and target.startswith("bot")
        and not any(target.startswith(allowed) for allowed in JOBS_MAY_USE_FROM_BOT)
    ]
    assert wrong == []


def test_nothing_imports_the_cli_or_the_run_wiring():
    wrong = [
        (source, target)
        for source, target in EDGES
        if any(target == top or target.startswith(top + ".") for top in TOP) and source not in TOP
    ]
    assert wrong == []
