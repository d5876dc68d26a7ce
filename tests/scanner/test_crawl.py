"""The crawl stays on its site: its hosts and ports, every redirect hop, sitemaps, and public addresses."""

import httpx
import pytest

from scanner.crawl import Scope, crawl
from tests.scanner.conftest import Site

PUBLIC, PRIVATE = "93.184.215.14", "10.1.2.3"


def _crawl(site: Site, **caps) -> list[str]:
    limits = {"max_pages": 20, "max_depth": 3, "max_sitemaps": 10, "max_bytes": 2**20} | caps
    with httpx.Client(timeout=5) as http:
        return [page.url.removeprefix(site.url) for page in crawl([site.url + "/"], http, **limits)]


def test_a_redirect_to_another_port_is_not_followed(site, elsewhere):
    site.redirects["/services"] = elsewhere.url + "/"
    assert "/services" not in _crawl(site) and elsewhere.hits == []


def test_a_redirect_on_the_site_is_followed_and_its_page_filed_under_where_it_led(site):
    site.pages["/moved-here"] = "<html><body>moved</body></html>"
    site.redirects["/services"] = "/moved-here"
    crawled = _crawl(site)
    assert "/moved-here" in crawled and "/services" not in crawled


def test_a_redirect_loop_ends(site):
    site.redirects["/services"] = "/services"
    assert "/services" not in _crawl(site) and site.hits.count("/services") == 6  # the first request and 5 hops


def test_sitemaps_name_no_page_and_no_sitemap_elsewhere_that_is_fetched(site, elsewhere):
    site.sitemaps["/sitemap.xml"] = (f"<sitemapindex><sitemap><loc>{elsewhere.url}/sitemap.xml</loc></sitemap>"
                                     f"<sitemap><loc>{site.url}/pages.xml</loc></sitemap></sitemapindex>")
    site.sitemaps["/pages.xml"] = f"<urlset><url><loc>{elsewhere.url}/</loc></url>" \
                                  f"<url><loc>{site.url}/hidden</loc></url></urlset>"
    assert "/hidden" in _crawl(site, max_depth=0)
    assert elsewhere.hits == []


def test_at_most_max_sitemaps_are_fetched(site):
    names = [f"/s{n}.xml" for n in range(20)]
    site.sitemaps["/sitemap.xml"] = "<sitemapindex>" + "".join(
        f"<sitemap><loc>{site.url}{name}</loc></sitemap>" for name in names) + "</sitemapindex>"
    for name in names:
        site.sitemaps[name] = "<urlset></urlset>"
    _crawl(site, max_sitemaps=4)
    assert len([hit for hit in site.hits if hit.endswith(".xml")]) == 4


def test_a_response_larger_than_the_cap_is_dropped(site):
    site.pages["/services"] = "<html>" + "x" * 5000 + "</html>"
    assert "/services" not in _crawl(site, max_bytes=4096)


def test_a_public_site_never_reaches_a_private_address_even_if_its_name_comes_to_resolve_to_one():
    answers = iter([{PUBLIC}, {PRIVATE}])
    scope = Scope(["https://www.hospital.example/"], resolver=lambda host: next(answers))
    assert not scope.internal
    assert not scope.allows("https://www.hospital.example/services")  # resolved again: now inside the network


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://www.hospital.example/a", True),
    ("http://www.hospital.example/a", True),  # the same host on the other scheme's default port
    ("https://www.hospital.example:8443/a", False),
    ("https://intranet.hospital.example/a", False),
    ("ftp://www.hospital.example/a", False),
    ("http://127.0.0.1/a", False),
])
def test_a_scope_holds_the_start_urls_hosts_and_ports(url, allowed):
    assert Scope(["https://www.hospital.example/"], resolver=lambda host: {PUBLIC}).allows(url) is allowed


def test_a_site_on_an_internal_address_may_be_crawled_there():
    scope = Scope(["http://intranet.local:8080/"], resolver=lambda host: {PRIVATE})
    assert scope.internal and scope.allows("http://intranet.local:8080/x")
    assert not scope.allows("http://intranet.local/x")  # its port, not another


def test_an_internal_site_opens_private_addresses_to_its_own_hosts_only():
    resolver = {"intranet.local": {PRIVATE}, "other.local": {"10.9.9.9"}, "cdn.example": {PUBLIC}}.get
    scope = Scope(["http://intranet.local:8080/"], resolver=lambda host: resolver(host, set()))
    assert scope.reachable("intranet.local", 8080) and scope.reachable("cdn.example", 443)
    assert not scope.reachable("other.local", 8080)  # a third party's request into the network, from its page
    assert not scope.reachable("intranet.local", 22)  # the site's host, but not one of its ports


@pytest.mark.parametrize("address", [
    "::10.0.0.5", "::ffff:0:10.0.0.5", "64:ff9b::10.0.0.5", "64:ff9b:1::a00:5", "2002:a00:5::1", "fec0::1",
    "::ffff:127.0.0.1", "fe80::1%eth0", "::1", "169.254.169.254", "100.64.0.1",
])
def test_an_address_that_reaches_into_the_network_is_never_public(address):
    assert not Scope(["https://www.hospital.example/"], resolver=lambda host: {address}).public("name.example")


def test_a_public_address_carried_in_ipv6_stays_public():
    scope = Scope(["https://www.hospital.example/"], resolver=lambda host: {"64:ff9b::5db8:d70e"})  # 93.184.215.14
    assert scope.public("cdn.example")
