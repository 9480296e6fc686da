"""Author names: one person across initials, accents and "Surname, Given" order; never two
people merged because they share a surname."""

from __future__ import annotations

import json

import pytest

from jobs.ingest import ingest_bytes
from storage import authors
from storage import subscriptions as subs
from storage.authors import compatible, matches, parse_name
from storage.errors import NotFound, SubscriptionError
from tests.conftest import NOW


def name(raw: str):
    parsed = parse_name(raw)
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param("Edward J. Hu", "Hu, Edward J.", True, id="comma-order"),
        pytest.param("Edward J. Hu", "E. Hu", True, id="initial"),
        pytest.param("Edward J. Hu", "E. J. Hu", True, id="two-initials"),
        pytest.param("Edward J. Hu", "Edward Hu", True, id="no-middle"),
        pytest.param("Édouard Lévy", "Edouard Levy", True, id="accents"),
        pytest.param("Jürgen Müller", "Juergen Mueller", True, id="umlauts-spelled-out"),
        pytest.param("EDWARD HU", "edward hu", True, id="case"),
        pytest.param("EJ Hu", "Edward J. Hu", True, id="initials-without-dots"),
        pytest.param("Hu, EJ", "Edward J. Hu", True, id="initials-without-dots-comma"),
        pytest.param("EJ Hu", "Edward K. Hu", False, id="initials-without-dots-other"),
        pytest.param("Aleksandr Petrov", "Aleksander Petrov", True, id="transliteration"),
        pytest.param("Ludwig van Beethoven", "Beethoven, Ludwig van", False, id="particle-kept"),
        pytest.param("Ludwig van Beethoven", "L. van Beethoven", True, id="particle-initial"),
        pytest.param("Edward Hu", "Yelong Hu", False, id="other-given-name"),
        pytest.param("Edward Hu", "Edwin Hu", False, id="close-given-name"),
        pytest.param("Edward J. Hu", "Edward K. Hu", False, id="other-middle-initial"),
        pytest.param("Edward Hu", "Edward Hua", False, id="other-surname"),
        pytest.param("Hu", "Edward Hu", False, id="surname-alone"),
        pytest.param("Ming Chang", "Ming-Wei Chang", False, id="hyphenated-given-cut"),
        pytest.param("Jean Mouret", "Jean-Baptiste Mouret", False, id="hyphenated-given-fr"),
        pytest.param("Ming-Wei Chang", "Chang, Ming-Wei", True, id="hyphenated-comma"),
        pytest.param("Ming W. Chang", "Ming-Wei Chang", True, id="hyphenated-initial"),
        pytest.param("M. Chang", "Ming-Wei Chang", True, id="hyphenated-first-initial"),
        pytest.param("J.-B. Mouret", "Jean-Baptiste Mouret", True, id="hyphenated-initials"),
    ],
)
def test_compatible_names(a, b, same):
    assert compatible(name(a), name(b)) is same
    assert compatible(name(b), name(a)) is same


@pytest.mark.parametrize(
    ("author", "wanted", "known", "expected"),
    [
        pytest.param("E. Hu", "Edward J. Hu", ["Edward J. Hu"], True, id="short-unambiguous"),
        pytest.param(
            "E. Hu", "Edward J. Hu", ["Edward J. Hu", "Eric Hu"], False, id="short-ambiguous"
        ),
        pytest.param(
            "Edward J. Hu", "Edward Hu", ["Edward J. Hu", "Edward K. Hu"], True, id="full-name"
        ),
        pytest.param("Eric Hu", "Edward J. Hu", ["Edward J. Hu"], False, id="same-surname"),
    ],
)
def test_a_short_form_matches_only_when_unambiguous(author, wanted, known, expected):
    assert matches(name(author), name(wanted), [name(k) for k in known]) is expected


def hf_item(arxiv_id: str, title: str, names: list[str]) -> dict:
    summary = f"We study {title.lower()} on several benchmarks and report strong results."
    return {
        "paper": {
            "id": arxiv_id,
            "title": title,
            "summary": summary,
            "authors": [{"name": n} for n in names],
            "publishedAt": "2026-03-16T10:00:00.000Z",
        },
        "publishedAt": "2026-03-17T02:00:00.000Z",
    }


def ingest_hf(db, items: list[dict]) -> None:
    report = ingest_bytes(db, "hf.json", json.dumps(items).encode(), NOW)
    assert report.error is None and report.new_papers == len(items)


def test_papers_by_finds_every_form_of_one_author_and_no_namesake(db):
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu", "Yelong Shen"]),
            hf_item("2603.00002", "Adapters at scale", ["Hu, Edward J."]),
            hf_item("2603.00003", "Sparse video attention", ["Eric Hu"]),
            hf_item("2603.00004", "Prompt tuning", ["Édward J. Hu"]),
        ],
    )
    found = authors.papers_by(db, "Edward J. Hu", limit=10)
    titles = {p["title"] for p in db["papers"].rows_where(f"id IN {tuple(found.paper_ids)}")}
    assert titles == {"Low-rank adapters", "Adapters at scale", "Prompt tuning"}
    assert found.total == 3
    # "E. Hu" could be Edward or Eric: both people are named, all their papers shown.
    short = authors.papers_by(db, "E. Hu", limit=10)
    assert short.total == 4 and short.people == ["Edward J. Hu", "Eric Hu"]


def test_follow_refuses_an_ambiguous_short_name_and_a_bare_surname(db):
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"]),
            hf_item("2603.00003", "Sparse video attention", ["Eric Hu"]),
        ],
    )
    with pytest.raises(SubscriptionError, match="could be `Edward J. Hu`, `Eric Hu`"):
        authors.follow(db, "T1", "U1", "E. Hu", NOW)
    with pytest.raises(SubscriptionError, match="first name or initial"):
        authors.follow(db, "T1", "U1", "Hu", NOW)
    sub = authors.follow(db, "T1", "U1", "Hu, Edward J.", NOW)
    assert (sub.author, sub.frequency, sub.kind, sub.target) == (
        "Hu, Edward J.",
        "instant",
        "personal",
        "U1",
    )
    with pytest.raises(SubscriptionError, match="already follow"):
        authors.follow(db, "T1", "U1", "Edward J. Hu", NOW)


def assert_found_and_followed(db, on_paper: str, typed: str) -> None:
    ingest_hf(db, [hf_item("2603.00001", "Massive MIMO", [on_paper, "Ada Lovelace"])])
    assert authors.papers_by(db, typed).total == 1
    sub = authors.follow(db, "T1", "U1", typed, NOW)
    assert authors.papers_by_followed(db, [name(sub.author)], 0, 10**9)[name(sub.author)] == [1]


@pytest.mark.parametrize(
    ("on_paper", "typed"),
    [
        pytest.param("Robert W. Heath, Jr.", "Robert W. Heath", id="comma-jr"),
        pytest.param("Heath, Robert W., Jr.", "R. W. Heath", id="surname-first-jr"),
        pytest.param("Martin Luther King, III", "Martin L. King", id="comma-iii"),
        pytest.param("King, Martin Luther III", "Martin L. King", id="comma-order-iii"),
    ],
)
def test_a_suffix_after_a_comma_is_not_the_surname(db, on_paper, typed):
    assert_found_and_followed(db, on_paper, typed)


@pytest.mark.parametrize(
    ("on_paper", "typed"),
    [
        pytest.param("Łukasz Kaiser", "Lukasz Kaiser", id="polish-l"),
        pytest.param("Łukasz Kaiser", "L. Kaiser", id="polish-l-initial"),
        pytest.param("Søren Hauberg", "Soren Hauberg", id="danish-o"),
        pytest.param("Paweł Wałęsa", "Pawel Walesa", id="polish-surname"),
        pytest.param("Đorđe Marković", "Dorde Markovic", id="croatian-d"),
    ],
)
def test_letters_unicode_does_not_decompose_fold_like_accents(db, on_paper, typed):
    assert_found_and_followed(db, on_paper, typed)


@pytest.mark.parametrize(
    ("on_paper", "typed"),
    [
        pytest.param("Jürgen Müller", "juergen mueller", id="typed-spelled-out"),
        pytest.param("Jörg Schäfer", "Joerg Schaefer", id="oe-ae"),
        pytest.param("Jürgen Müller", "J. Mueller", id="initial-spelled-out"),
        pytest.param("MÜLLER, JÜRGEN", "Juergen Mueller", id="capitals-comma-order"),
        pytest.param("Søren Møller", "Soeren Moeller", id="danish-o-as-oe"),
        pytest.param("Juergen Mueller", "Jürgen Müller", id="paper-spelled-out"),
    ],
)
def test_an_umlaut_may_be_spelled_out_on_either_side(db, on_paper, typed):
    assert_found_and_followed(db, on_paper, typed)


def test_spelling_umlauts_out_finds_every_spelling_and_merges_no_one_else(db):
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Umlauts written", ["Jürgen Müller"]),
            hf_item("2603.00002", "Umlauts spelled out", ["Juergen Mueller"]),
            hf_item("2603.00003", "Umlauts dropped", ["Jurgen Muller"]),
            hf_item("2603.00004", "Another Mueller", ["Jan Müller"]),
            hf_item("2603.00005", "Long context", ["Xiang Yue"]),
            hf_item("2603.00006", "Short context", ["Xiang Yu"]),
        ],
    )
    # Beside the ü a paper writes, every spelling of the name is that one person.
    for typed in ("Jürgen Müller", "Juergen Mueller", "jurgen muller"):
        assert sorted(authors.papers_by(db, typed, limit=10).paper_ids) == [1, 2, 3], typed
    assert authors.papers_by(db, "Jan Mueller").paper_ids == [4]
    short = authors.papers_by(db, "J. Mueller", limit=10)
    assert short.people == ["Jan Müller", "Juergen Mueller"] and short.total == 4
    # An "ue" no paper writes as ü is not one: Yue and Yu are two people.
    assert authors.papers_by(db, "Xiang Yue").paper_ids == [5]
    assert authors.papers_by(db, "Xiang Yu").paper_ids == [6]
    authors.follow(db, "T1", "U1", "Xiang Yu", NOW)
    authors.follow(db, "T1", "U1", "Xiang Yue", NOW)
    authors.follow(db, "T1", "U1", "Jürgen Müller", NOW)
    with pytest.raises(SubscriptionError, match="already follow Jürgen Müller"):
        authors.follow(db, "T1", "U1", "Juergen Mueller", NOW)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("Edward J. Hu", "Edward Hu", id="without-middle"),
        pytest.param("Edward J. Hu", "E. J. Hu", id="initials"),
        pytest.param("Edward Hu", "Hu, Edward J.", id="fuller-later"),
    ],
)
def test_following_one_person_twice_is_refused_so_each_paper_alerts_once(db, first, second):
    ingest_hf(db, [hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"])])
    authors.follow(db, "T1", "U1", first, NOW)
    with pytest.raises(SubscriptionError, match=f"already follow {first}"):
        authors.follow(db, "T1", "U1", second, NOW)


def test_a_short_form_followed_alerts_only_papers_that_write_it_so(db):
    # Followed before the store knew any Hu: "E. Hu" is whoever signs that way, never every
    # Hu whose first name starts with an E.
    sub = authors.follow(db, "T1", "U1", "E. Hu", NOW)
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"]),
            hf_item("2603.00002", "Sparse video attention", ["Eric Hu"]),
            hf_item("2603.00003", "Adapter pruning", ["E. Hu", "Ada Lovelace"]),
            hf_item("2603.00004", "Adapter merging", ["E. J. Hu"]),
        ],
    )
    followed = name(sub.author)
    assert authors.papers_by_followed(db, [followed], 0, 10**9)[followed] == [3, 4]


def test_a_full_name_followed_never_alerts_a_namesake_with_the_same_initial(db):
    sub = authors.follow(db, "T1", "U1", "Edward J. Hu", NOW)
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"]),
            hf_item("2603.00002", "Sparse video attention", ["Eric Hu"]),
            hf_item("2603.00003", "Adapter pruning", ["E. Hu"]),  # Edward or Eric: unsure
            hf_item("2603.00004", "Adapter merging", ["Edward Hu"]),
        ],
    )
    followed = name(sub.author)
    assert authors.papers_by_followed(db, [followed], 0, 10**9)[followed] == [1, 4]


def test_a_follow_never_alerts_a_person_whose_hyphenated_given_name_starts_alike(db):
    # "Ming-Wei" is one given name: a follow of Ming Chang alerted every Ming-Wei and
    # Ming-Hsuan Chang's paper (and "Yu Wang" every Yu-Xiang Wang's), as if the part after
    # the hyphen were a middle name left out.
    ingest_hf(db, [hf_item("2603.00001", "Known work", ["Ming Chang"])])
    sub = authors.follow(db, "T1", "U1", "Ming Chang", NOW)
    ingest_hf(
        db,
        [
            hf_item("2603.00002", "Pretraining encoders", ["Ming-Wei Chang", "Kenton Lee"]),
            hf_item("2603.00003", "Visual tracking", ["Ming-Hsuan Chang"]),
            hf_item("2603.00004", "Adapter merging", ["Chang, Ming"]),
        ],
    )
    followed = name(sub.author)
    assert authors.papers_by_followed(db, [followed], 0, 10**9)[followed] == [1, 4]
    assert sorted(authors.papers_by(db, "Ming Chang").paper_ids) == [1, 4]
    assert authors.papers_by(db, "Ming-Wei Chang").paper_ids == [2]


def test_initials_written_together_are_initials_for_search_follows_and_alerts(db):
    # "EJ Hu" read as a first name "Ej": `author:"EJ Hu"` found none of Edward J. Hu's
    # papers, a follow of it was a second follow of him, and a paper signed "EJ Hu" was
    # another person, whose "E. J. Hu" papers no longer reached Edward J. Hu's follower.
    ingest_hf(db, [hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"])])
    assert authors.papers_by(db, "EJ Hu").paper_ids == [1]
    sub = authors.follow(db, "T1", "U1", "Edward J. Hu", NOW)
    with pytest.raises(SubscriptionError, match="already follow Edward J. Hu"):
        authors.follow(db, "T1", "U1", "EJ Hu", NOW)
    ingest_hf(
        db,
        [
            hf_item("2603.00002", "Adapter pruning", ["EJ Hu"]),
            hf_item("2603.00003", "Adapter merging", ["Hu, E. J."]),
        ],
    )
    followed = name(sub.author)
    assert authors.papers_by_followed(db, [followed], 0, 10**9)[followed] == [1, 2, 3]


@pytest.mark.parametrize("placeholder", ["et al.", "Et Al", "and others", "others"])
def test_et_al_in_an_author_list_is_no_author_to_search_or_follow(db, placeholder):
    # A source that cuts its list ("A, B, et al.") stored "et al." as an author (surname
    # "al"): `author:"et al."` listed every such paper, and a follow of it alerted them all.
    ingest_hf(db, [hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu", placeholder])])
    assert [row["name"] for row in db["paper_authors"].rows] == ["Edward J. Hu"]
    with pytest.raises(SubscriptionError, match="first name or initial"):
        authors.follow(db, "T1", "U1", placeholder, NOW)


def test_unfollowing_a_short_form_of_two_people_followed_removes_neither(db):
    # `/papers unfollow E. Hu` silently stopped both the follow of Edward J. Hu and Eric Hu.
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"]),
            hf_item("2603.00002", "Sparse video attention", ["Eric Hu"]),
        ],
    )
    edward = authors.follow(db, "T1", "U1", "Edward J. Hu", NOW)
    authors.follow(db, "T1", "U1", "Eric Hu", NOW)
    with pytest.raises(SubscriptionError, match=r"could be `Edward J. Hu` \(#1\), `Eric Hu`"):
        authors.unfollow(db, "T1", "U1", "E. Hu")
    assert [s.id for s in authors.unfollow(db, "T1", "U1", "Edward Hu")] == [edward.id]
    # By its number, as `/papers list` and the reply above show it ("Give a first name").
    eric = authors.unfollow(db, "T1", "U1", "#2")
    assert [(s.id, s.author) for s in eric] == [(2, "Eric Hu")]
    with pytest.raises(NotFound, match="no author as #2"):
        authors.unfollow(db, "T1", "U1", "2")
    # Two follows of one person, as "Mueller" and "Muller" are beside a "Müller", go together.
    authors.follow(db, "T1", "U1", "Juergen Mueller", NOW)
    authors.follow(db, "T1", "U1", "Jurgen Muller", NOW)
    assert len(authors.unfollow(db, "T1", "U1", "Jürgen Müller")) == 2


def test_a_short_form_of_the_one_known_person_follows_them_by_full_name(db):
    ingest_hf(db, [hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"])])
    sub = authors.follow(db, "T1", "U1", "E. Hu", NOW)
    assert sub.author == "Edward J. Hu"
    ingest_hf(
        db,
        [
            hf_item("2603.00002", "Sparse video attention", ["Eric Hu"]),
            hf_item("2603.00003", "Adapter merging", ["Edward Hu"]),
        ],
    )
    followed = name(sub.author)
    assert authors.papers_by_followed(db, [followed], 1, 10**9)[followed] == [3]


def test_the_people_a_short_name_could_be_are_named_in_whole_code_spans(db):
    # A feed's name with a backtick ended its code span early in the reply ("could be …"),
    # and the rest of the reply was formatted by the feed's text.
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Low-rank adapters", ["Ed`ward J. Hu"]),
            hf_item("2603.00003", "Sparse video attention", ["Eric Hu"]),
        ],
    )
    with pytest.raises(SubscriptionError) as refused:
        authors.follow(db, "T1", "U1", "E. Hu", NOW)
    assert str(refused.value).count("`") % 2 == 0, str(refused.value)


def _steps(db, call) -> int:
    """The SQLite virtual machine steps `call` takes (a measure of the rows it reads)."""
    steps = 0

    def tick() -> None:
        nonlocal steps
        steps += 1

    db.conn.set_progress_handler(tick, 1)
    try:
        call()
    finally:
        db.conn.set_progress_handler(None, 1)
    return steps


def test_an_author_alert_run_skips_a_common_surnames_old_rows_in_its_index(db):
    # The late listings' `OR a.paper_id IN (...)` read every row of a followed surname
    # behind the bookmark from the table to look its paper up: ~10 times slower for "Wang"
    # at a million papers, every run, late listings or not. The surname index rules them out.
    papers = 3000
    db.conn.executemany(
        "INSERT INTO papers (id, title, abstract, listed) VALUES (?, 't', 'a', 1)",
        [(i,) for i in range(1, papers + 1)],
    )
    db.conn.executemany(
        "INSERT INTO paper_authors (paper_id, position, name, surname) VALUES (?, ?, ?, ?)",
        [row for i in range(1, papers + 1) for row in authors.author_rows(i, ["Wei Wang"])],
    )
    wang, newest = name("Wei Wang"), authors.newest_author_row(db)
    scan = _steps(  # the surname's index entries, each ruled out by its row id alone
        db,
        lambda: db.execute(
            "SELECT name FROM paper_authors WHERE surname = ? AND id > ?", [wang.key, newest]
        ).fetchall(),
    )
    run = _steps(db, lambda: authors.papers_by_followed(db, [wang], newest, newest, (0, 0)))
    assert run < 2 * scan, (run, scan)


def test_late_listings_bring_their_papers_once_and_only_listed_ones(db):
    ingest_hf(
        db,
        [
            hf_item("2603.00001", "Low-rank adapters", ["Edward J. Hu"]),
            hf_item("2603.00002", "Adapter pruning", ["Edward J. Hu"]),
            hf_item("2603.00003", "Adapter merging", ["Edward J. Hu"]),
        ],
    )
    db.execute("UPDATE papers SET listed = 0 WHERE id = 3")  # a replacement, never listed
    db.conn.executemany("INSERT INTO late_listings (paper_id) VALUES (?)", [(1,), (2,), (3,)])
    followed = name("Edward J. Hu")
    newest = authors.newest_author_row(db)
    # Paper 2's names are in the row range too: it comes once, in row order.
    found = authors.papers_by_followed(db, [followed], newest - 1, newest, (0, 3))
    assert found[followed] == [1, 2]
    assert authors.papers_by_followed(db, [followed], newest, newest, (1, 2))[followed] == [2]


def test_unfollowing_several_follows_by_number(db):
    # `/papers unfollow 1 2` (as `unsubscribe 1 2` takes them) was read as a name: "Give a
    # first name or initial and a surname".
    for name in ("Edward J. Hu", "Eric Hu", "Yelong Shen"):
        authors.follow(db, "T1", "U1", name, NOW)
    with pytest.raises(NotFound, match="no author as #9"):
        authors.unfollow(db, "T1", "U1", "1 9")
    assert [s.id for s in authors.unfollow(db, "T1", "U1", "#1, #3")] == [1, 3]
    assert [s.author for s in subs.visible_to(db, "T1", "U1")] == ["Eric Hu"]
