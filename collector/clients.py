"""Who sent a request: the client address, believing X-Forwarded-For only from trusted proxies."""

from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from litestar.connection import ASGIConnection

_UNKNOWN = "::"


class ClientResolver:
    def __init__(self, trusted_proxies: list[str]) -> None:
        self._proxies = [ip_network(network, strict=False) for network in trusted_proxies]

    def address(self, connection: ASGIConnection) -> str:
        """The nearest address on the forwarding path that is not one of our proxies ("::" if none is an IP)."""
        peer = _plain(connection.client.host if connection.client else "")
        if not peer:
            return _UNKNOWN
        if not self._trusts(peer):
            return peer
        # A proxy may add its own header line rather than extend the client's: read them all, in order.
        lines = ",".join(connection.headers.getall("x-forwarded-for", []))
        for hop in reversed([hop.strip() for hop in lines.split(",") if hop.strip()]):
            if not self._trusts(hop):
                return _plain(hop) or peer
        return peer

    def is_https(self, connection: ASGIConnection) -> bool:
        if connection.url.scheme == "https":
            return True
        peer = connection.client.host if connection.client else ""
        return self._trusts(peer) and connection.headers.get("x-forwarded-proto", "") == "https"

    def _trusts(self, address: str) -> bool:
        if not self._proxies:
            return False
        parsed = _parse(address)
        return bool(parsed and any(parsed in network for network in self._proxies))


@lru_cache(maxsize=65536)
def _plain(address: str) -> str:
    """The address as the warehouse stores it (no IPv6 zone), or "" if it is not an IP address."""
    parsed = _parse(address.split("%", 1)[0])
    return str(parsed) if parsed else ""


@lru_cache(maxsize=65536)
def _parse(address: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(address)
    except ValueError:
        return None
