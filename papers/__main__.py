"""`papers` (the console script) and `python -m papers`: the CLI. A Ctrl-C while it starts
(importing it takes about half a second) is one line, as it is once a command runs
(papers.cli), not a traceback through click's imports."""

import sys


def main() -> None:
    """Import the CLI and run it."""
    try:
        from papers.cli import main as cli
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
    cli()


if __name__ == "__main__":
    main()
