"""papers: a Slack app that keeps research teams on top of new ML papers."""

__version__ = "0.1.0"
