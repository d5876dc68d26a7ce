"""Leases: exactly one holder per term, however many processes try at once; an expired lease is free."""

import threading
import time

from warehouse.leases import Leases


def test_of_two_acquirers_of_one_term_exactly_one_wins(warehouse):
    """Both see the lease free and insert the same term: the token keeps one row, and both read its owner."""
    barrier = threading.Barrier(2)

    class Racing(Leases):
        def _current(self, name):
            seen = super()._current(name)
            barrier.wait()  # neither inserts before both have looked
            return seen

    won: dict[str, bool] = {}

    def take(owner: str) -> None:
        won[owner] = Racing(warehouse.client).acquire("outbox", owner, ttl=60)

    threads = [threading.Thread(target=take, args=(owner,)) for owner in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(won.values()) == [False, True]
    winner = next(owner for owner, took in won.items() if took)
    assert warehouse.client.query("SELECT term, owner FROM leases WHERE name = 'outbox'").result_rows == [(1, winner)]


def test_a_held_lease_is_refused_to_others_and_renewed_by_its_holder(warehouse):
    leases = Leases(warehouse.client)
    assert leases.acquire("scan", "a", ttl=60)
    assert not leases.acquire("scan", "b", ttl=60)
    assert leases.acquire("scan", "a", ttl=60)
    assert leases.acquire("other", "b", ttl=60)  # names are independent


def test_an_expired_lease_can_be_taken_over(warehouse):
    leases = Leases(warehouse.client)
    assert leases.acquire("scan", "a", ttl=0.2)
    time.sleep(0.3)
    assert leases.acquire("scan", "b", ttl=60)
    assert not leases.acquire("scan", "a", ttl=60)


def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(warehouse):
    leases = Leases(warehouse.client)
    assert leases.acquire("scan", "a", ttl=60)
    leases.release("scan", "b")
    assert not leases.acquire("scan", "b", ttl=60)
    leases.release("scan", "a")
    assert leases.acquire("scan", "b", ttl=60)


def test_a_holder_renews_only_while_it_holds_and_learns_when_it_lost_the_lease(warehouse):
    leases = Leases(warehouse.client)
    assert not leases.renew("forwarder", "a", ttl=60)  # nobody holds it: renewing is not taking
    assert leases.acquire("forwarder", "a", ttl=0.2)
    assert leases.renew("forwarder", "a", ttl=0.2)
    time.sleep(0.3)
    assert leases.acquire("forwarder", "b", ttl=60)
    assert not leases.renew("forwarder", "a", ttl=60) and leases.holder("forwarder") == "b"
