from types import SimpleNamespace

from collector.clients import ClientResolver


class _Headers(dict):
    def getall(self, name, default=None):
        return [self[name]] if name in self else (default or [])


def _request(peer: str, scheme: str = "http", **headers: str):
    return SimpleNamespace(client=SimpleNamespace(host=peer), url=SimpleNamespace(scheme=scheme),
                           headers=_Headers(headers))


def test_forwarded_for_is_ignored_from_an_untrusted_peer():
    resolver = ClientResolver(["10.0.0.0/8"])
    assert resolver.address(_request("198.51.100.4", **{"x-forwarded-for": "203.0.113.9"})) == "198.51.100.4"


def test_forwarded_for_is_believed_from_a_trusted_proxy_skipping_our_own_hops():
    resolver = ClientResolver(["10.0.0.0/8"])
    request = _request("10.0.0.2", **{"x-forwarded-for": "1.1.1.1, 203.0.113.9, 10.0.0.7"})
    # 1.1.1.1 was written by the client itself; the nearest untrusted hop is the real client.
    assert resolver.address(request) == "203.0.113.9"


def test_a_garbled_forwarded_for_falls_back_to_the_peer():
    resolver = ClientResolver(["10.0.0.0/8"])
    assert resolver.address(_request("10.0.0.2", **{"x-forwarded-for": "<script>"})) == "10.0.0.2"


def test_a_peer_that_is_not_an_ip_is_stored_as_unknown():
    assert ClientResolver([]).address(_request("testclient")) == "::"


def test_https_is_taken_from_a_trusted_proxy_only():
    resolver = ClientResolver(["10.0.0.0/8"])
    assert resolver.is_https(_request("10.0.0.2", **{"x-forwarded-proto": "https"}))
    assert not resolver.is_https(_request("198.51.100.4", **{"x-forwarded-proto": "https"}))
    assert resolver.is_https(_request("198.51.100.4", scheme="https"))


def test_every_forwarded_for_line_is_read_so_a_client_line_cannot_hide_the_proxys():
    resolver = ClientResolver(["10.0.0.0/8"])
    # The client sent its own line; the proxy appended the real address as a second line.
    request = _request("10.0.0.2")
    request.headers = _Lines([("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9")])
    assert resolver.address(request) == "203.0.113.9"


def test_ipv6_zones_are_dropped_so_the_warehouse_can_store_the_address():
    assert ClientResolver([]).address(_request("fe80::1%eth0")) == "fe80::1"


class _Lines(list):
    def getall(self, name, default=None):
        return [value for key, value in self if key == name] or (default or [])

    def get(self, name, default=None):
        return next((value for key, value in self if key == name), default)
