"""Making paper text safe and short for Slack's mrkdwn."""

from __future__ import annotations

import re

from storage.text import BIDI_CONTROLS, quoted, without_bidi

_MRKDWN = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", "*": "∗", "`": "ˋ", "~": "∼"}
    # Direction overrides and isolates, also where a text reaches us not from a stored
    # paper (storage.papers.public drops them there): none turns our text around.
    | BIDI_CONTROLS
)
# An underscore that starts or ends a word (`_word_` is italic) and an emoji code (`:fire:`,
# `:+1:`; not the `:30:` of `10:30:00`); an underscore inside a word (`snake_case`) formats
# nothing, and a URL is left whole (`/my_tool_` stays copyable).
_FORMATTING = re.compile(
    r"https?://\S+|(?<![^\W_])_|_(?![^\W_])"
    r"|:(?=[a-z0-9_+-]*[a-z][a-z0-9_+-]*:)|(?<![^\W_]):(?=[0-9+-]+:)"
)
_LOOK_ALIKES = {"_": "ˍ", ":": "∶"}


def escape_mrkdwn(text: str) -> str:
    """Make feed text inert in mrkdwn: no mentions, links or formatting from a paper.

    &, < and > are Slack's control characters and must become entities. *, ` and ~
    would change formatting or break ours (titles are bold), and so would an underscore at
    a word's edge and the colon that opens an emoji code, so they become look-alikes.
    """
    text = text.translate(_MRKDWN)
    if "_" in text or ":" in text:
        text = _FORMATTING.sub(lambda m: _LOOK_ALIKES.get(m[0], m[0]), text)
    return text


_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape_entities(text: str) -> str:
    """Escape only Slack's control characters, keeping our own `code` and *bold* markup."""
    return text.translate(_ENTITIES)


def as_typed(text: str) -> str:
    """A slash command's text as the user typed it: Slack sends its &, < and > as
    &amp;, &lt; and &gt; (so `Q&A` would search the word `amp`)."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int) -> str:
    """Cut text to at most limit characters, at a word when possible."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return (cut if len(cut) > limit // 2 else text[: limit - 1]) + "…"


def escaped_within(text: str, limit: int) -> str:
    """escape_mrkdwn(text) in at most `limit` characters: the text is cut (at a word, with
    …) before it is escaped, never inside an entity. Escaping makes an `&` five characters,
    so a paper's text cut to fit before escaping may be five times too long after it."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    low, high = 0, len(text)  # the longest cut whose escaped form fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape_mrkdwn(truncate(text, middle))) <= limit:
            low = middle
        else:
            high = middle - 1
    return escape_mrkdwn(truncate(text, low)) if low else ""


# A line break and the blanks around it: one space in a code span (other spaces stay).
_LINE_BREAK = re.compile(r"\s*[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]\s*")


def code(text: str) -> str:
    """Text as typed, in a `code span`: inside one Slack applies no *bold*, _italic_ or
    ~strike~, so only its control characters are escaped. A backtick would end the span
    and mrkdwn has no escape for it, so only that one character becomes a look-alike; nor can
    a span hold a line break, so a text of several lines (Shift+Enter) is shown on one; and
    a direction override typed or pasted with it would show what follows right to left."""
    one_line = text if text.isprintable() else _LINE_BREAK.sub(" ", without_bidi(text))
    return "`" + quoted(escape_entities(one_line)) + "`"


def plural(count: int | str, noun: str, nouns: str | None = None, bold: bool = False) -> str:
    """ "1 paper", "2 papers", "100+ papers" (a count may be a capped "100+"); `bold` makes
    the number *bold*."""
    one = str(count) == "1"
    number = f"*{count}*" if bold else str(count)
    return f"{number} {noun if one else (nouns or noun + 's')}"


def matches(count: int | str, bold: bool = False, noun: str = "paper") -> str:
    """ "1 paper matches", "2 papers match" ("2 new papers match" with `noun` "new paper")."""
    return plural(count, noun, bold=bold) + (" matches" if str(count) == "1" else " match")
