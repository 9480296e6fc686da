"""The delivery ledger: claims, confirmation and the papers a subscription was sent."""

from __future__ import annotations

from datetime import timedelta

from storage import deliveries as ledger
from storage import subscriptions as subs
from tests.conftest import NOW, add_subscription


def test_confirming_a_paper_the_subscription_was_already_sent_records_it_once(db):
    # Two messages holding one paper (a claim recovered after a crash, with its paper sent
    # meanwhile): the second confirm must not fail, or the delivery job that recovers it
    # raises at every run and no digest goes out at all.
    sub = add_subscription(db, "T1", "U1", "U1", kind="personal", frequency="instant")
    for n, period in enumerate(["alert:0-5", "alert:5-9"]):
        claim = ledger.claim(db, sub.id, period, NOW)
        ledger.prepare(db, claim, {"text": "alert", "blocks": []}, [7])
        ledger.confirm(db, claim, f"17000000{n}.000100", NOW + timedelta(minutes=n), None)
    assert [r["state"] for r in ledger.ledger(db, sub.id)] == ["sent", "sent"]
    assert ledger.sent_paper_ids(db, sub.id) == {7}
    assert subs.by_id(db, sub.id).status == "active"


def test_papers_of_a_prepared_claim_count_as_sent_until_it_fails(db):
    sub = add_subscription(db, "T1", "U1", "U1", kind="personal", frequency="instant")
    claim = ledger.claim(db, sub.id, "alert:0-5", NOW)
    assert ledger.sent_paper_ids(db, sub.id) == set()  # claimed, nothing built yet
    ledger.prepare(db, claim, {"text": "alert", "blocks": []}, [3, 4])
    assert ledger.sent_paper_ids(db, sub.id) == {3, 4}
    ledger.finish(db, claim, ledger.State.FAILED, "gave up", NOW, None)
    assert ledger.sent_paper_ids(db, sub.id) == set()
