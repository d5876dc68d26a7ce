from collector.ratelimit import Rate, RateLimiter


def test_a_client_over_its_rate_waits_until_the_window_ends():
    limiter = RateLimiter(Rate.parse("2/minute"))
    assert limiter.retry_after("192.0.2.1", now=60.0) is None
    assert limiter.retry_after("192.0.2.1", now=70.0) is None
    assert limiter.retry_after("192.0.2.1", now=80.0) == 40
    assert limiter.retry_after("192.0.2.2", now=80.0) is None  # others are not affected
    assert limiter.retry_after("192.0.2.1", now=121.0) is None  # a new window


def test_ipv6_clients_are_counted_per_64():
    limiter = RateLimiter(Rate.parse("1 per second"))
    assert limiter.retry_after("2001:db8:1:2::1", now=5.0) is None
    assert limiter.retry_after("2001:db8:1:2:ffff::9", now=5.1) == 1
    assert limiter.retry_after("2001:db8:1:3::1", now=5.2) is None
