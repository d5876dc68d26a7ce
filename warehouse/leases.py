"""Leases: one holder at a time for a named task across every process on one ClickHouse server.

Each taking of a lease is a new term, inserted with a deduplication token made from the lease's name and
term: ClickHouse keeps the first insert of a token and drops the others, so of all the processes that try
to take one term exactly one row stands, and everyone reads back its owner. Times are the server's.
"""

from collections.abc import Callable

from clickhouse_connect.driver.client import Client

_TAKE = """
    INSERT INTO leases (name, term, owner, expires_at, taken_at)
    SELECT {name:String}, {term:UInt64}, {owner:String}, now64(3) + toIntervalMillisecond({ms:UInt64}), now64(3)"""


class Leases:
    """Leases kept in the `leases` table of the client's database."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take `name` for `ttl` seconds, or renew it if `owner` holds it; False while another holds it."""
        term, holder, live = self._current(name)
        if live and holder != owner:
            return False
        self._take(name, term + 1, owner, ttl)
        return self._owner(name, term + 1) == owner

    def renew(self, name: str, owner: str, ttl: float) -> bool:
        """Extend `name` for `ttl` seconds from now if `owner` still holds it; False once it has lapsed."""
        term, holder, live = self._current(name)
        if not live or holder != owner:
            return False
        self._take(name, term + 1, owner, ttl)
        return self._owner(name, term + 1) == owner

    def release(self, name: str, owner: str) -> None:
        """Give `name` up if `owner` holds it: the next term starts expired and has no owner."""
        term, holder, live = self._current(name)
        if live and holder == owner:
            self._take(name, term + 1, "", 0)

    def run(self, name: str, owner: str, ttl: float, job: Callable[[], object]) -> bool:
        """Run `job` if `owner` can take `name`; the lease is left to lapse after `ttl` seconds, so a schedule
        shared by several processes runs once per term. False when another holds it."""
        if not self.acquire(name, owner, ttl):
            return False
        job()
        return True

    def holder(self, name: str) -> str:
        """Who holds `name` now, or empty when nobody does."""
        _, owner, live = self._current(name)
        return owner if live else ""

    def _current(self, name: str) -> tuple[int, str, bool]:
        rows = self._client.query(
            "SELECT term, owner, expires_at > now64(3) FROM leases WHERE name = {name:String} "
            "ORDER BY term DESC LIMIT 1", parameters={"name": name}).result_rows
        return (rows[0][0], rows[0][1], bool(rows[0][2])) if rows else (0, "", False)

    def _take(self, name: str, term: int, owner: str, ttl: float) -> None:
        self._client.command(_TAKE, parameters={"name": name, "term": term, "owner": owner, "ms": round(ttl * 1000)},
                             settings={"insert_deduplication_token": f"lease:{name}:{term}", "insert_deduplicate": 1,
                                       "async_insert": 0})

    def _owner(self, name: str, term: int) -> str:
        return self._client.command(
            "SELECT any(owner) FROM leases WHERE name = {name:String} AND term = {term:UInt64}",
            parameters={"name": name, "term": term})
