"""Author names: stored per paper, matched tolerant of initials, accents and "Surname, Given"
order, and followed (a follow is an instant personal subscription with an `author`).

Two names are the same person when their surnames agree exactly (after folding case and
accents, ß as ss, and an umlaut either dropped or spelled out: "Müller" is "Muller" and
"Mueller") and their given names agree token by token, an initial standing for any name with
that letter ("E. Hu" = "Edward J. Hu"). A short form counts only when it is unambiguous:
"E. Hu" on a paper is not Edward J. Hu when the store also knows an Eric Hu. Two people who
share a surname are never merged ("Edward Hu" is not "Yelong Hu", nor "Edwin Hu", nor
"Edward-Jay Hu": a hyphenated given name is one name). A short form followed ("E. Hu")
stands for that form only, never for every Edward, Eric or Emma Hu.
An "ue" is read as "ü" only beside a name written with the ü: "Xiang Yue" is not "Xiang Yu".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz
from sqlite_utils import Database

from storage import subscriptions as subs
from storage.db import transaction
from storage.errors import NotFound, SubscriptionError
from storage.schedule import Frequency
from storage.subscriptions import Kind, Status, Subscription
from storage.text import clean, quoted

# Surname particles kept with the surname: "Ludwig van Beethoven" → "van beethoven".
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "du", "la"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
# What an author list truncated by its source ends with, in place of the names left out.
_NO_NAME = re.compile(r"\s*(?:et\.?\s+al\.?|and\s+others|others)\s*", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
# Two spelled-out given names are one when this similar (rapidfuzz ratio, 0-100) and both at
# least FUZZY_MIN_CHARS long: "Aleksandr"/"Aleksander", never "Edward"/"Edwin".
GIVEN_SIMILARITY = 88
FUZZY_MIN_CHARS = 6
MAX_NAME_CHARS = 120


@dataclass(frozen=True)
class Name:
    """A parsed author name: folded surname, folded given-name tokens, and as written."""

    surname: str
    given: tuple[str, ...]
    display: str
    # The same with ä, ö, ü and ø spelled out ("mueller", "juergen"), as German writes them
    # without the dots: one token for each of surname's and of given's.
    surname_spelled: str = ""
    given_spelled: tuple[str, ...] = ()
    # Per given token: whether a hyphen joins it to the one before ("Ming-Wei" → False,
    # True). Such a name is one given name: "Ming Chang" is not "Ming-Wei Chang".
    given_joined: tuple[bool, ...] = ()

    @property
    def key(self) -> str:
        """The stored lookup key (paper_authors.surname), one for every spelling of the
        surname ("Müller", "Mueller", "Muller" → "muller"); compatible() tells apart the
        names that share it ("Yue" and "Yu" do)."""
        return _VOWEL_E.sub("", self.surname)


# Letters Unicode does not decompose into a base letter and a mark, as people type them
# without the stroke: "Łukasz" is written "Lukasz", "Søren" "Soren", "Đorđe" "Dorde".
_UNMARKED = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "ı": "i", "þ": "th"}
    | {"æ": "ae", "œ": "oe"}
)


# Umlauts as German spells them without the dots ("Müller" → "Mueller"), and ø as Danish
# and Norwegian names are spelled so ("Søren" → "Soeren").
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe"})
# An umlaut or ø, composed or as a letter and a combining diaeresis (U+0308).
_UMLAUT = re.compile("[äöüøÄÖÜØ\u0308]")
# The e after a, o or u: what spelling an umlaut out adds (dropped from the lookup key).
_VOWEL_E = re.compile(r"(?<=[aou])e+")


def fold(text: str) -> str:
    """Case and accents folded: "Ångström" → "angstrom", "Łukasz" → "lukasz"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_UNMARKED)


def fold_spelled(text: str) -> str:
    """Folded as fold() does, umlauts spelled out first: "Jürgen Müller" → "juergen mueller"."""
    return fold(unicodedata.normalize("NFC", text.casefold()).translate(_SPELLED_OUT))


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


_HYPHENS = frozenset("-\u2010\u2011")
_INITIALS = re.compile(r"(?<![^\W\d_])[A-Z]{2,3}(?![^\W\d_])")  # "EJ" as a word of its own


def _joined(text: str, count: int) -> list[bool]:
    """For each of the `count` _tokens(text), whether a hyphen joins it to the token before
    it (initials' dots aside): "Ming-Wei" → [False, True], "J.-B." → [False, True]."""
    if _HYPHENS.isdisjoint(text):  # most names: every author row of an ingest parses one
        return [False] * count
    folded, flags, end = fold(text), [], None
    for match in _TOKEN.finditer(folded):
        between = folded[end : match.start()].replace(".", "") if end is not None else ""
        flags.append(bool(between) and set(between) <= _HYPHENS)
        end = match.end()
    return flags


def _spread_initials(given: str, display: str) -> str:
    """Initials written together without dots as one each ("EJ" → "E J"): "EJ Hu" is E. J.
    Hu, not a first name "Ej". Not in a name written all in capitals ("EDWARD HU")."""
    if not _INITIALS.search(given) or not any(ch.islower() for ch in display):
        return given  # (most names: no run of capitals, checked first, as ingest parses many)

    def spread(word: str) -> str:
        together = word.isalpha() and word.isupper() and 2 <= len(word) <= 3
        return " ".join(word) if together and fold(word) not in _SUFFIXES else word  # "III"

    return " ".join(spread(word) for word in given.split())


def _token_pairs(text: str) -> list[tuple[str, str]]:
    """Each token of a name folded and with its umlauts spelled out: ("muller", "mueller")."""
    plain = _tokens(text)
    if not _UMLAUT.search(text):  # nearly every name: nothing to spell out
        return [(token, token) for token in plain]
    spelled = _TOKEN.findall(fold_spelled(text))
    if len(spelled) != len(plain):  # spelling out only adds letters; never seen to differ
        spelled = plain
    return list(zip(plain, spelled, strict=True))


def parse_name(raw: str | None) -> Name | None:
    """Parse "Edward J. Hu", "Hu, Edward J.", "E. Hu", "Édouard Hù"; None for no name."""
    if not raw or _NO_NAME.fullmatch(raw):  # "et al." is nobody to search or follow
        return None
    display = clean(raw)[:MAX_NAME_CHARS]
    # "Robert W. Heath, Jr.": a comma before a suffix is not "Surname, Given" order.
    parts = [p for p in display.split(",") if not set(_tokens(p)) <= _SUFFIXES]
    if len(parts) > 1:
        surname = _token_pairs(parts[0])
        given_text = _spread_initials(",".join(parts[1:]), display)
        pairs = _token_pairs(given_text)
        flags = _joined(given_text, len(pairs))
        kept = [i for i, (plain, _) in enumerate(pairs) if plain not in _SUFFIXES]
        given, joined = [pairs[i] for i in kept], [flags[i] for i in kept]
    else:
        words = [w for w in " ".join(parts).split() if fold(w).strip(".") not in _SUFFIXES]
        if not words:
            return None
        start = len(words) - 1
        while start > 1 and fold(words[start - 1]) in _PARTICLES:
            start -= 1
        surname = _token_pairs(" ".join(words[start:]))
        given_text = _spread_initials(" ".join(words[:start]), display)
        given = _token_pairs(given_text)
        joined = _joined(given_text, len(given))
    if not surname:
        return None
    return Name(
        " ".join(plain for plain, _ in surname),
        tuple(plain for plain, _ in given),
        display,
        " ".join(spelled for _, spelled in surname),
        tuple(spelled for _, spelled in given),
        tuple(joined),
    )


def is_suffix(text: str) -> bool:
    """Is this only a name suffix ("Jr.", "III"), as a comma-split author list leaves it?"""
    tokens = set(_tokens(text))
    return bool(tokens) and tokens <= _SUFFIXES


def _given_agree(a: str, b: str) -> bool:
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    if a == b:
        return True
    if min(len(a), len(b)) < FUZZY_MIN_CHARS:
        return False
    return fuzz.ratio(a, b) >= GIVEN_SIMILARITY


def _umlauts(names: Iterable[Name]) -> dict[str, str]:
    """Each token these names write with an umlaut, spelled out → folded ("mueller" →
    "muller"): beside a "Müller", a "Mueller" is read as that name."""
    found: dict[str, str] = {}
    for name in names:
        plain = (*name.surname.split(), *name.given)
        spelled = (*name.surname_spelled.split(), *name.given_spelled)
        found.update((s, p) for p, s in zip(plain, spelled, strict=False) if s != p)
    return found


def _respelled(name: Name, umlauts: dict[str, str]) -> Name:
    """The name with each token spelled out from an umlaut written as that umlaut folded."""
    if not umlauts:
        return name
    surname = " ".join(umlauts.get(t, t) for t in name.surname.split())
    given = tuple(umlauts.get(t, t) for t in name.given)
    return Name(
        surname, given, name.display, name.surname_spelled, name.given_spelled, name.given_joined
    )


def _as_one(names: list[Name]) -> list[Name]:
    """The names respelled alike: an umlaut spelled out ("Mueller") as the folded umlaut
    ("Muller") wherever one of them writes that umlaut ("Müller"); never otherwise, so
    "Yue" stays apart from "Yu"."""
    umlauts = _umlauts(names)
    return [_respelled(name, umlauts) for name in names]


def _compatible(a: Name, b: Name) -> bool:
    if a.surname != b.surname or not a.given or not b.given:
        return False
    if not all(_given_agree(x, y) for x, y in zip(a.given, b.given, strict=False)):
        return False
    return not (_cut_short(a, b) or _cut_short(b, a))


def _cut_short(short: Name, long: Name) -> bool:
    """`short` stops, on a spelled-out name, inside a hyphenated given name of `long`:
    "Ming Chang" is another person than "Ming-Wei Chang" (and "Yu Wang" than "Yu-Xiang
    Wang"), where "Edward Hu" may be "Edward J. Hu". An initial may stand for it ("M. Chang")."""
    n = len(short.given)
    return n < len(long.given_joined) and long.given_joined[n] and len(short.given[-1]) > 1


def compatible(a: Name, b: Name, known: Iterable[Name] = ()) -> bool:
    """Could these two names be one person? Same surname, given names agree where both
    have one (a surname alone is never enough); an umlaut is its spelling out when one of
    the names, or of `known`, writes it ("Müller" = "Mueller" = "Muller")."""
    a, b, *_ = _as_one([a, b, *known])
    return _compatible(a, b)


def _matches(author: Name, wanted: Name, known: list[Name]) -> bool:
    if not _compatible(author, wanted):
        return False
    return not any(_compatible(other, author) and not _compatible(other, wanted) for other in known)


def matches(author: Name, wanted: Name, known: list[Name]) -> bool:
    """Is this paper author the person `wanted`? Compatible, and no other known person fits
    the author's name without fitting `wanted` (then the short form is ambiguous)."""
    author, wanted, *known = _as_one([author, wanted, *known])
    return _matches(author, wanted, known)


def is_short(name: Name) -> bool:
    """Every given name is an initial ("E. Hu", "E. J. Hu"): a form many people share."""
    return all(len(given) == 1 for given in name.given)


def _follow_matches(author: Name, wanted: Name, known: list[Name]) -> bool:
    # Is this paper author (respelled alike, _as_one) the person a follow of `wanted` means?
    # A followed short form ("E. Hu") is that form: it matches a paper that writes the name
    # with initials, never a spelled-out name ("Eric Hu", "Edward J. Hu"), which the
    # follower did not say.
    if is_short(wanted):
        return is_short(author) and _compatible(author, wanted)
    return _matches(author, wanted, known)


def author_rows(paper_id: int, names: list[str]) -> list[tuple[int, int, str, str]]:
    """A paper's paper_authors rows: (paper_id, position, name, surname) per parsed name."""
    rows = []
    for position, raw in enumerate(names):
        name = parse_name(raw)
        if name is not None:
            rows.append((paper_id, position, name.display, name.key))
    return rows


def index_authors(db: Database, paper_id: int, names: list[str]) -> None:
    """Store a paper's author names for matching (inside the caller's transaction)."""
    rows = author_rows(paper_id, names)
    db.conn.executemany(
        "INSERT OR IGNORE INTO paper_authors (paper_id, position, name, surname)"
        " VALUES (?, ?, ?, ?)",
        rows,
    )


def refold_surnames(db: Database, where: str) -> None:
    """Recompute the stored surname key (Name.key) of the paper_authors rows matching
    `where` (a migration after a change to how names are parsed or folded)."""
    rows = db.execute(f"SELECT id, name, surname FROM paper_authors WHERE {where}").fetchall()
    changed = [
        (parsed.key, row_id)
        for row_id, raw, surname in rows
        if (parsed := parse_name(raw)) is not None and parsed.key != surname
    ]
    db.conn.executemany("UPDATE paper_authors SET surname = ? WHERE id = ?", changed)


def known_names(db: Database, surname: str) -> list[Name]:
    """Every distinct author name stored with this surname key (Name.key)."""
    rows = db.execute(
        "SELECT DISTINCT name FROM paper_authors WHERE surname = ?", [surname]
    ).fetchall()
    return [name for (raw,) in rows if (name := parse_name(raw)) is not None]


def require_name(raw: str) -> Name:
    """Parse a name a user typed; SubscriptionError when it is not a full enough name."""
    name = parse_name(raw.strip().strip('"“”'))
    if name is None or not name.given:
        raise SubscriptionError(
            "Give a first name or initial and a surname, like `Edward J. Hu` or `E. Hu`."
        )
    return name


def _less_specific(a: Name, b: Name) -> bool:
    """`a` says less than `b` about one person ("E. Hu" vs "Edward J. Hu")."""
    if (a.surname, a.given) == (b.surname, b.given) or len(a.given) > len(b.given):
        return False
    return all(len(x) <= len(y) for x, y in zip(a.given, b.given, strict=False))


def people_like(db: Database, wanted: Name) -> list[str]:
    """The distinct people in the store that `wanted` could stand for, each by its most
    complete written name ("E. Hu" → ["Edward J. Hu", "Eric Hu"])."""
    known = sorted(known_names(db, wanted.key), key=lambda n: n.display)
    wanted, *respelled = _as_one([wanted, *known])
    # One person per spelling ("Jürgen Müller" and "Juergen Mueller" are one), shown as the
    # first written form of it.
    forms: dict[tuple, Name] = {}
    for name in respelled:
        if _compatible(name, wanted):
            forms.setdefault((name.surname, name.given), name)
    names = list(forms.values())
    people = [
        n for n in names if not any(_compatible(n, m) and _less_specific(n, m) for m in names)
    ]
    return [n.display for n in people]


@dataclass
class AuthorPapers:
    """Papers by one author, the latest stored first (an alert's new papers lead), and the
    people a short name could mean."""

    name: Name
    paper_ids: list[int]
    total: int
    people: list[str]
    # The newest paper id the pages keep to (a paper that comes in between pages never
    # pushes a shown one onto the next page), and where this page starts.
    newest: int | None = None
    offset: int = 0


def papers_by(
    db: Database, raw: str, limit: int = 5, offset: int = 0, newest: int | None = None
) -> AuthorPapers:
    """The newest papers whose author is `raw` (by the matching rules above), `offset` of
    them skipped; `newest` keeps to papers up to that id (a later page of the same list)."""
    wanted = require_name(raw)
    known = known_names(db, wanted.key)
    respelled_wanted, *respelled = _as_one([wanted, *known])
    names = sorted({n.display for n in respelled if _matches(n, respelled_wanted, respelled)})
    if not names:
        return AuthorPapers(wanted, [], 0, [])
    marks = ",".join("?" * len(names))
    where = f"surname = ? AND name IN ({marks}) AND paper_id <= ?"
    newest = min(newest, 2**62) if newest is not None else 2**62
    args = [wanted.key, *names, newest]
    total, newest = db.execute(
        f"SELECT COUNT(DISTINCT paper_id), MAX(paper_id) FROM paper_authors WHERE {where}", args
    ).fetchone()
    offset = min(max(offset, 0), total)  # a forged 2**70 would overflow SQLite
    rows = db.execute(
        f"SELECT DISTINCT paper_id FROM paper_authors WHERE {where} ORDER BY paper_id DESC"
        " LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    people = people_like(db, wanted)
    return AuthorPapers(wanted, [row[0] for row in rows], total, people, newest, offset)


# Words and marks between names in an author list ("A, B and C", "A; B", "A & B").
_BETWEEN_NAMES = re.compile(r"\s(?:and|&)\s|;", re.IGNORECASE)
_INITIAL = re.compile(r"^[^\W\d_]\.?$")
ONE_AT_A_TIME = (
    "Follow one author at a time, like `/papers follow Edward J. Hu`: `{typed}` reads as"
    " several names."
)


def _several(db: Database, raw: str) -> bool:
    """Whether a typed name is an author list, pasted whole (a follow of it would match no
    paper): names joined by `and`, `&` or `;`, three names by commas, or "Given Surname,
    Given Surname". One comma may also be "Surname, Given" with a surname of two words
    (`García Márquez, Gabriel`): that reading stands unless its first part has an initial
    (surnames have none), or only the first part is a name the store knows."""
    if _BETWEEN_NAMES.search(raw):
        return True
    parts = [p for p in raw.split(",") if not set(_tokens(p)) <= _SUFFIXES]
    if len(parts) != 2:
        return len(parts) > 2
    head = [w for w in parts[0].split() if fold(w).strip(".") not in _PARTICLES]
    if len(head) < 2 or len(parts[1].split()) < 2:
        return False
    if any(_INITIAL.match(w) for w in head):
        return True
    first, whole = parse_name(parts[0]), parse_name(raw)
    return bool(first and whole and not people_like(db, whole) and people_like(db, first))


def follow(db: Database, team_id: str, user_id: str, raw: str, now: datetime) -> Subscription:
    """Follow an author: alerts by DM for each new paper of theirs. Refuses an ambiguous
    short name ("E. Hu" when the store knows Edward and Eric Hu), an author list, a text
    longer than a name, and a duplicate; a short name of the one person the store knows
    follows them by their full name."""
    typed = " ".join(raw.split())
    if len(typed) > MAX_NAME_CHARS:
        raise SubscriptionError(
            f"That is longer than a name ({MAX_NAME_CHARS} characters at most): follow one"
            " author, like `/papers follow Edward J. Hu`."
        )
    if _several(db, typed):
        raise SubscriptionError(ONE_AT_A_TIME.format(typed=quoted(typed)))
    wanted = require_name(raw)
    people = people_like(db, wanted)
    if len(people) > 1:
        listed = ", ".join(f"`{quoted(p)}`" for p in people[:5])  # names from feeds
        raise SubscriptionError(
            f"`{quoted(wanted.display)}` could be {listed}; follow one of them by full name."
        )
    known = parse_name(people[0]) if people else None
    if is_short(wanted) and known and not is_short(known):
        # The one person the store knows by that short form is followed by their full name
        # (the reply shows it): a followed short form matches only papers written so.
        wanted = known
    table = db["subscriptions"]
    namesakes = known_names(db, wanted.key)  # "Müller" known: "Mueller" is "Muller"
    with transaction(db):
        for row in table.rows_where(
            "team_id = ? AND user_id = ? AND author IS NOT NULL", [team_id, user_id]
        ):
            # A compatible form ("Edward Hu" after "Edward J. Hu") is the same person: two
            # follows would DM each of their papers twice.
            same = parse_name(row["author"])
            if same and compatible(same, wanted, namesakes):
                raise SubscriptionError(f"You already follow {same.display} (#{row['id']}).")
        subs.check_room(db, team_id, user_id)
        table.insert(
            {
                "id": subs.next_id(db),
                "team_id": team_id,
                "user_id": user_id,
                "target": user_id,
                "kind": str(Kind.PERSONAL),
                "keywords": "",
                "author": wanted.display,
                "frequency": str(Frequency.INSTANT),
                "weekday": 0,
                "at_time": "09:00",
                "tz": "UTC",
                "status": str(Status.ACTIVE),
                "next_due_at": None,
                "created_at": now.isoformat(),
            }
        )
        return subs.get(db, team_id, int(table.last_pk))


def unfollow(db: Database, team_id: str, user_id: str, raw: str) -> list[Subscription]:
    """Stop following an author: by the follow's number (`3`, `#3`) as `/papers list` shows
    it, by the name as followed, or by a compatible form of it that stands for one of the
    people followed."""
    mine = [s for s in subs.visible_to(db, team_id, user_id) if s.author and s.user_id == user_id]
    if (numbers := subs.numbers_in(raw)) is not None:
        # `4 5` or `#4, #6`, as unsubscribe takes them (they were read as a name, and refused
        # as one); every number a follow of theirs, or nothing is removed.
        followed = {str(s.id) for s in mine}
        if missing := [f"#{n[:20]}" for n in numbers if n not in followed]:
            raise NotFound(f"You follow no author as {', '.join(missing)}. See `/papers list`.")
        return subs.remove(db, team_id, user_id, " ".join(numbers))
    wanted = require_name(raw)
    namesakes = known_names(db, wanted.key)
    chosen = [
        s
        for s in mine
        if (parsed := parse_name(s.author)) and compatible(parsed, wanted, namesakes)
    ]
    if not chosen:
        raise NotFound(f"You do not follow {wanted.display}. See `/papers list`.")
    followed = [parse_name(s.author) for s in chosen]
    known = [*namesakes, wanted]  # "Müller" typed: "Mueller" and "Muller" are one person
    if any(not compatible(a, b, known) for a in followed for b in followed if a and b):
        # "E. Hu" while following Edward J. Hu and Eric Hu: two people, never both removed.
        listed = ", ".join(f"`{quoted(s.author or '')}` (#{s.id})" for s in chosen)
        raise SubscriptionError(
            f"`{quoted(wanted.display)}` could be {listed}; unfollow one by full name or number."
        )
    removed = []
    for sub in chosen:
        removed += subs.remove(db, team_id, user_id, str(sub.id))
    return removed


def follows(db: Database) -> list[Subscription]:
    """Active author follows of active teams (the author-alert job's subscriptions)."""
    rows = db.query(
        "SELECT s.* FROM subscriptions s LEFT JOIN teams t ON t.team_id = s.team_id"
        " WHERE s.author IS NOT NULL AND s.status = 'active'"
        " AND (t.status IS NULL OR t.status = 'active') ORDER BY s.id"
    )
    return [Subscription.from_row(row) for row in rows]


def newest_author_row(db: Database) -> int:
    """The highest paper_authors row id: rows are added when a paper's names become known."""
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM paper_authors").fetchone()[0]


def papers_by_followed(
    db: Database, wanted: list[Name], after: int, newest: int, late: tuple[int, int] = (0, 0)
) -> dict[Name, list[int]]:
    """For each followed name, the papers whose names became known in rows (after, newest],
    or that are late listings numbered in (`late`], and have that person as an author;
    never a paper that was not listed as news (an arXiv replacement, or a paper fetched for
    a pasted link)."""
    surnames = sorted({name.key for name in wanted})
    found: dict[Name, list[int]] = {name: [] for name in wanted}
    # The range on its own: the surname index holds each row's id, so the rows out of range
    # are never read; the late listings' rows are found from them (CROSS JOIN: in that
    # order). In one condition each of a common surname's rows was read for its paper_id
    # (100k rows at 1M papers: 171 ms, against 13).
    sql = (
        "SELECT a.id, a.paper_id, a.name FROM paper_authors a JOIN papers p ON p.id = a.paper_id"
        " WHERE a.surname = ? AND a.id > ? AND a.id <= ? AND p.listed AND a.news"
    )
    if late[1] > late[0]:
        sql += (
            " UNION ALL SELECT a.id, a.paper_id, a.name FROM late_listings l CROSS JOIN"
            " paper_authors a ON a.paper_id = l.paper_id JOIN papers p ON p.id = l.paper_id"
            " WHERE l.seq > ? AND l.seq <= ? AND a.surname = ? AND p.listed"
            " AND NOT (a.id > ? AND a.id <= ?)"
        )
    for surname in surnames:
        params = [surname, after, newest]
        if late[1] > late[0]:
            params += [*late, surname, after, newest]
        rows = [row[1:] for row in db.execute(f"{sql} ORDER BY 1", params).fetchall()]
        if not rows:
            continue
        followed = [name for name in wanted if name.key == surname]
        known = known_names(db, surname)
        umlauts = _umlauts([*followed, *known])
        known = [_respelled(name, umlauts) for name in known]
        respelled = [(name, _respelled(name, umlauts)) for name in followed]
        for paper_id, raw in rows:
            author = parse_name(raw)
            if author is None:
                continue
            author = _respelled(author, umlauts)
            for name, as_one in respelled:
                if paper_id not in found[name] and _follow_matches(author, as_one, known):
                    found[name].append(paper_id)
    return found
