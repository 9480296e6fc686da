"""Text normalisation for parsing, dedup and search (display escaping lives in bot.text)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# A hyphenated word, whole ("pre-training", "state-of-the-art").
HYPHENATED = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
# Control characters, and invisible ones that split words: zero-width space, (non-)joiners
# and marks, soft hyphen, word joiner, BOM; and the direction embeddings, overrides and
# isolates, with which a feed's text could show ours after it right to left.
_CONTROL = re.compile(
    r"[\x00-\x08\x0e-\x1b\x7f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufffd]"
)
# Breaks between lines and pages (form feed, vertical tab, the file/record separators, NEL,
# U+2028/U+2029, as a PDF pastes them): whitespace, so they part words as a space does.
_BREAKS = re.compile(r"[\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
_INNER_STAR = re.compile(r"(?<=[^\W_])\*+(?=[^\W_])")
_BAR = re.compile(r"\s*\|+\s*")
# A dash or minus sign that starts a word, as smart punctuation types `-survey` ("—survey",
# "–survey", "−survey"), is the exclusion's minus.
_DASH_MINUS = re.compile(r'(?:^|(?<=\s))[\u2010-\u2015\u2212\ufe63\uff0d]+(?=[^\W_]|")')
# A hyphen character inside a word (U+2010, and U+2011 non-breaking, as PDFs and arXiv's
# HTML titles spell them) is the hyphen `-`: `pre‐training` finds what `pre-training` finds.
_INNER_HYPHEN = re.compile(r"(?<=[^\W_])[\u2010\u2011](?=[^\W_])")
# The query syntax's operators (storage.search.parse_query): upper case only, so comparing
# or grouping keywords case-insensitively must keep them (`lora OR qlora` is not the three
# words `lora or qlora`).
OPERATORS = frozenset({"OR", "AND", "NOT"})
# A query's tokens as storage.search.parse_query reads them: a quoted phrase (`-"a b"` too,
# an unclosed one to the end) is one; commas and semicolons separate words as spaces do.
QUERY_TOKENS = re.compile(r'-?"[^"]*"?|[^\s,;]+')
# Tokens that only say what the words say together (`lora AND qlora` is `lora qlora`).
_CONJUNCTIONS = frozenset({"AND", "+"})
# An operator token anywhere (`lora,OR,qlora` holds one too).
_OPERATOR_TOKEN = re.compile(r"(?<![^\s,;])(?:AND|OR|NOT|\+|\|)(?![^\s,;])")
# Typographic double quotes, as Slack's clients and keyboards type them, are phrase quotes.
_QUOTES = str.maketrans(dict.fromkeys("“”„‟«»″", '"'))
_ARXIV_NEW = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(v\d+)?(?!\d)")
# An old-style id's number is YYMMNNN from 1991 to March 2007: "posts/1234567" in a blog's
# link is none (taken for one, it showed as the broken link arxiv.org/abs/posts/1234567).
_ARXIV_OLD = re.compile(
    r"\b([a-z][a-z\-]+(?:\.[A-Z]{2})?/(?:9[1-9]|0[0-7])(?:0[1-9]|1[0-2])\d{3})(v\d+)?\b"
)


# ASCII bytes as normalize_title reads them: letters lower-cased, digits kept, everything
# else a space (for ASCII text, casefold() is lower() and _NON_WORD is "not a letter or digit").
ASCII_WORDS = bytes(
    b + 32 if 65 <= b <= 90 else b if 48 <= b <= 57 or 97 <= b <= 122 else 32 for b in range(256)
)


def clean(text: str) -> str:
    """NFKC-normalize (full-width letters, ligatures), drop control and zero-width
    characters, collapse whitespace: stored text is searchable as it is typed."""
    if text.isascii() and text.isprintable():
        # Printable ASCII is NFKC already and holds no control character: only spaces can
        # need collapsing, and most lines have none to collapse (checked in C, no copy).
        if "  " not in text and text[:1] != " " and text[-1:] != " ":
            return text
        return " ".join(text.split())
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", _BREAKS.sub(" ", text))
    return " ".join(text.split())


def plain_hyphens(text: str) -> str:
    """The text with each Unicode hyphen inside a word as `-` (see _INNER_HYPHEN): papers
    index and queries search "pre‐training" as "pre-training"."""
    return text if text.isascii() else _INNER_HYPHEN.sub("-", text)


def normalize_query(text: str) -> str:
    """A typed query in the form stored text has (see clean), with `*` and `|` made
    predictable: `*` is a prefix mark only at the end of a word, so one inside a word is
    dropped (`lo*ra` searches `lora`), `a|b` means `a OR b`, curly quotes (“…”, „…“,
    «…») quote a phrase as "…" does, a dash before a word (`—survey`) excludes it as
    `-survey` does, and a Unicode hyphen inside a word is `-`."""
    text = _INNER_STAR.sub("", straight_quotes(clean(text)))
    if not text.isascii():
        text = _DASH_MINUS.sub("-", plain_hyphens(text))
    return _BAR.sub(" | ", text).strip(" |") if "|" in text else text


# Greek letters as LaTeX spells them, as arXiv abstracts write them (`$\\alpha$-entmax`).
GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ο": "omicron",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
_GREEK_LETTER = re.compile(r"(?<![^\W\d_])[\u0391-\u03a9\u03b1-\u03c9](?![^\W\d_])")
_GREEK_NAME = re.compile(
    r"(?<![^\W_])(" + "|".join(sorted(GREEK.values(), key=len, reverse=True)) + r")(?=-[^\W_])",
    re.IGNORECASE,
)
_GREEK_OF_NAME = {name: letter for letter, name in GREEK.items()}


def greek_spelled(text: str) -> str | None:
    """The text with each Greek letter standing alone spelled out (`α-entmax` →
    `alpha-entmax`), or a letter's name before a hyphen written as the letter
    (`beta-VAE` → `β-VAE`); None when it has neither."""
    if text.isascii():
        spelled = _GREEK_NAME.sub(lambda m: _GREEK_OF_NAME[m[1].lower()], text)
    else:
        spelled = _GREEK_LETTER.sub(lambda m: GREEK.get(m[0].lower(), m[0]), text)
    return spelled if spelled != text else None


def query_key(text: str) -> str:
    """One spelling per query, for grouping and comparing keywords: normalised as a search
    normalises it, lower-cased as the index lower-cases, `OR` (and `|`) kept between words,
    `AND` (and `+`) dropped and `NOT word` spelled `-word`, as parse_query reads them."""
    text = normalize_query(text)
    if not _OPERATOR_TOKEN.search(text) and "," not in text and ";" not in text:
        return " ".join(text.split()).lower()  # nearly all keywords: lower them whole
    out: list[str] = []
    negate = False
    for token in QUERY_TOKENS.findall(text):
        if token in _CONJUNCTIONS:
            continue
        if token == "NOT":
            negate = True
            continue
        if token in ("OR", "|"):
            # Between words only (`OR lora` is `lora`); a NOT before it still excludes the
            # word after it.
            if out and out[-1] != "OR":
                out.append("OR")
            continue
        token = token.lower()
        out.append("-" + token if negate and not token.startswith("-") else token)
        negate = False
    return " ".join(out[:-1] if out[-1:] == ["OR"] else out)


# Direction embeddings, overrides and isolates (see _CONTROL), for text stored before ingest
# dropped them.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def without_bidi(text: str) -> str:
    """The text without direction overrides: shown, it cannot turn what follows it around."""
    return text.translate(BIDI_CONTROLS)


def quoted(text: str) -> str:
    """What a user typed, for a `code span` of a reply: a backtick of theirs would end the
    span early (mrkdwn has no escape for it), so it becomes a look-alike."""
    return text.replace("`", "ˋ")


def straight_quotes(text: str) -> str:
    """Typographic double quotes (“…”, „…“, «…») as the plain `"` of the query syntax."""
    return text if text.isascii() else text.translate(_QUOTES)


def normalize_title(text: str) -> str:
    """The identity form of a title: case-folded, accents and punctuation gone."""
    return " ".join(title_words(text))


def title_words(text: str) -> list[str]:
    """The words of normalize_title(text), for callers that need both."""
    if text.isascii():  # the common case: one table lookup per byte, in C
        return text.encode().translate(ASCII_WORDS).decode().split()
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return _NON_WORD.sub(" ", text.casefold()).split()


def arxiv_id(text: str | None) -> str | None:
    """The arXiv identifier in a link, id or guid, without its version suffix."""
    if not text:
        return None
    match = _ARXIV_NEW.search(text) or _ARXIV_OLD.search(text)
    return match.group(1) if match else None


def arxiv_month(ident: str | None) -> date | None:
    """The first day of the month an arXiv id was assigned ("2107.02137" → 2021-07-01,
    "hep-th/9901001" → 1999-01-01): when a paper first appeared, to the month."""
    digits = ident.rsplit("/", 1)[-1][:4] if ident else ""
    if len(digits) != 4 or not digits.isdigit():
        return None
    year, month = int(digits[:2]), int(digits[2:])
    if not 1 <= month <= 12:
        return None
    return date(1900 + year if year >= 91 else 2000 + year, month, 1)  # arXiv began in 1991


def derive_title(abstract: str, limit: int = 80) -> str:
    """A short display title for an untitled paper: its first sentence, cut at a word."""
    first = re.split(r"(?<=[.!?])\s", abstract, maxsplit=1)[0]
    if len(first) <= limit:
        return first.rstrip(".")
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
