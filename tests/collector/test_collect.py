"""POST /collect, /consent and GET /t.js as a browser or a misbehaving client meets them."""

import gzip
import json
import re
import uuid

import pytest
from litestar.testing import TestClient

from collector.settings import Site
from collector.spool import read_segment
from warehouse.events import ConsentRow, EventRow

EVENT = {"site": "default", "name": "pageview", "url": "https://www.example-hospital.org/cardiology"}
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
HOSPITAL = "https://www.example-hospital.org"
OPT_OUT = [Site(id="default", origins=["*"], consent="opt-out")]
"""A site whose visitors count until they refuse: their requests carry ids and set cookies."""


def _stored(client: TestClient) -> list[EventRow]:
    """Every event the spool holds once the app has stopped and closed its segment."""
    spool = client.app.state.collector.spools.events
    return [row for segment in spool.segments() for row in read_segment(segment, EventRow)]


def _consents(client: TestClient) -> list[ConsentRow]:
    spool = client.app.state.collector.spools.consent
    return [row for segment in spool.segments() for row in read_segment(segment, ConsentRow)]


def _post(client: TestClient, body, content_type="text/plain", **headers):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/collect", content=data, headers={"content-type": content_type, **headers})


def test_an_event_is_accepted_with_202_and_a_visitor_cookie(make_public):
    with TestClient(make_public(OPT_OUT)) as client:
        response = _post(client, EVENT, **{"user-agent": CHROME})
    assert response.status_code == 202 and response.json() == {"accepted": 1}
    (cookie,) = [c for c in response.headers.get_list("set-cookie") if c.startswith("sluice_vid=")]
    assert re.match(r"sluice_vid=[0-9a-f]{32};", cookie)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=34128000" in cookie
    (row,) = _stored(client)
    assert (row.site, row.name, row.host, row.path, row.browser, row.os, row.device_type) == (
        "default", "pageview", "www.example-hospital.org", "/cardiology", "Chrome", "Windows", "desktop",
    )
    assert row.visitor_id.hex == cookie.split(";")[0].split("=")[1]


def test_a_session_lasts_while_its_cookie_does_and_the_cookie_lasts_thirty_idle_minutes(make_public):
    with TestClient(make_public(OPT_OUT)) as client:
        first = _post(client, EVENT)
        second = _post(client, EVENT)
        client.cookies.delete("sluice_sid")  # what the browser does after 30 idle minutes
        third = _post(client, EVENT)
    cookies = [r.headers.get_list("set-cookie") for r in (first, second, third)]
    assert all(any(c.startswith("sluice_sid=") and "Max-Age=1800;" in c for c in each) for each in cookies)
    one, two, three = _stored(client)
    assert one.session_id == two.session_id != three.session_id
    assert one.visitor_id == two.visitor_id == three.visitor_id


@pytest.mark.parametrize("forged", [
    "0" * 32,  # not a version 7 id
    "018c3f0000007000800000000000beef",  # a start in 2023
    "7fffffffffff70008000000000000000",  # a start in the year 10889
])
def test_a_visit_cookie_the_collector_could_not_have_minted_lately_starts_a_new_visit(make_public, forged):
    """The warehouse files a visit under the time in its id: a client must not choose that time."""
    from datetime import UTC, datetime, timedelta

    from collector.enrich import visit_start

    with TestClient(make_public(OPT_OUT)) as client:
        client.cookies.set("sluice_sid", forged)
        answer = _post(client, EVENT)
    (row,) = _stored(client)
    assert answer.status_code == 202 and row.session_id.hex != forged
    assert datetime.now(UTC) - visit_start(row.session_id) < timedelta(minutes=1)


def test_sec_gpc_and_dnt_headers_count_like_the_snippets_flags(make_public):
    with TestClient(make_public([Site(id="default", origins=["*"], consent="opt-out")])) as client:
        _post(client, EVENT, **{"sec-gpc": "1"})
        _post(client, EVENT, dnt="1")
        _post(client, EVENT)
    gpc, dnt, plain = _stored(client)
    assert (gpc.gpc, gpc.consent_ads, dnt.dnt, dnt.consent_ads, plain.consent_ads) == (True, False, True, False, True)


def test_a_returning_visitor_keeps_their_id_and_session(make_public):
    visitor = uuid.uuid4()
    with TestClient(make_public(OPT_OUT), cookies={"sluice_vid": visitor.hex}) as client:
        first, second = _post(client, EVENT), _post(client, EVENT | {"name": "appointment_request"})
    assert not any(c.startswith("sluice_vid=") for r in (first, second) for c in r.headers.get_list("set-cookie"))
    rows = _stored(client)
    assert {row.visitor_id for row in rows} == {visitor}
    assert len({row.session_id for row in rows}) == 1


def test_a_batch_of_up_to_50_is_accepted_as_json(make_public):
    with TestClient(make_public()) as client:
        response = _post(client, [EVENT] * 50, content_type="application/json; charset=utf-8")
    assert response.status_code == 202 and len(_stored(client)) == 50


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ([EVENT] * 51, "body", "length <= 50"),
        ([EVENT, EVENT | {"name": "bad name"}], "[1].name", "matching regex"),
        ([EVENT | {"url": "javascript:alert(1)"}], "[0].url", "absolute http(s) URL"),
        ([EVENT | {"site": "elsewhere"}], "[0].site", "unknown site"),
        ([EVENT, EVENT | {"site": "clinic"}], "[1].site", "one site"),
        (EVENT | {"props": {"nested": {"a": 1}}}, "props[...]", "bool | int | float | str"),
        (EVENT | {"props": {f"k{i}": i for i in range(33)}}, "props", "length <= 32"),
        (EVENT | {"url": "https://x.org/" + "a" * 2048}, "url", "length <= 2048"),
        (EVENT | {"email": "patient@example.org"}, "body", "unknown field email"),
        (b"{not json", "body", "not valid JSON"),
        ([EVENT | {"url": "http://[abc/"}], "[0].url", "absolute http(s) URL"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_nothing_is_stored(make_public, body, field, rule):
    with TestClient(make_public()) as client:
        response = _post(client, body)
    assert response.status_code == 400
    assert response.json()["field"] == field and rule in response.json()["rule"]
    assert _stored(client) == []


def test_a_body_over_64_kb_is_413(make_public):
    with TestClient(make_public()) as client:
        response = _post(client, b"[" + b" " * 70_000 + b"]")
    assert response.status_code == 413 and _stored(client) == []


def test_other_content_types_are_415(make_public):
    with TestClient(make_public()) as client:
        assert _post(client, EVENT, content_type="application/x-www-form-urlencoded").status_code == 415


def test_an_origin_not_allowed_for_the_site_is_403_and_gets_no_cors(make_public):
    sites = [Site(id="main", origins=[HOSPITAL])]
    with TestClient(make_public(sites)) as client:
        refused = _post(client, EVENT | {"site": "main"}, origin="https://evil.example")
        allowed = _post(client, EVENT | {"site": "main"}, origin=HOSPITAL)
        missing = _post(client, EVENT | {"site": "main"})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert missing.status_code == 403
    assert allowed.status_code == 202
    assert allowed.headers["access-control-allow-origin"] == HOSPITAL
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert len(_stored(client)) == 1


def test_a_preflight_is_answered_for_allowed_origins_only(make_public):
    with TestClient(make_public([Site(id="main", origins=[HOSPITAL])])) as client:
        ok = client.options("/collect", headers={"origin": HOSPITAL, "access-control-request-method": "POST"})
        refused = client.options("/collect", headers={"origin": "https://evil.example"})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == HOSPITAL
    assert "access-control-allow-origin" not in refused.headers


def test_clients_over_the_rate_limit_get_429_with_retry_after(make_public):
    with TestClient(make_public(rate_limit="3/minute")) as client:
        answers = [_post(client, EVENT) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60


def test_a_full_spool_answers_503_with_retry_after_and_stores_nothing(make_public, make_spools):
    with TestClient(make_public(spools=make_spools(max_bytes=100))) as client:
        response = _post(client, EVENT)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert _stored(client) == []


def test_utm_parameters_click_ids_and_referrer_are_parsed(make_public):
    url = f"{HOSPITAL}/orthopaedics?utm_source=google&utm_medium=cpc&utm_campaign=knee&gclid=Cj0abc&x=1"
    with TestClient(make_public(OPT_OUT)) as client:
        _post(client, EVENT | {"url": url, "referrer": "https://www.google.com/search?q=knee"})
    (row,) = _stored(client)
    assert (row.utm_source, row.utm_medium, row.utm_campaign) == ("google", "cpc", "knee")
    assert (row.click_id_type, row.click_id, row.referrer_host) == ("gclid", "Cj0abc", "www.google.com")
    assert row.query_params["x"] == "1"


def test_bots_are_flagged(make_public):
    with TestClient(make_public()) as client:
        _post(client, EVENT, **{"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"})
    (row,) = _stored(client)
    assert row.is_bot and row.device_type == "bot"


def test_consent_is_recorded_and_read_back_for_the_visitor(make_public):
    with TestClient(make_public()) as client:
        before = client.get("/consent", params={"site": "default"}).json()
        banner = before.pop("banner")
        recorded = client.post("/consent", content=json.dumps(
            {"site": "default", "analytics": True, "ads": True, "policy_version": "2026-01"}),
            headers={"content-type": "text/plain"})
        after = client.get("/consent", params={"site": "default"}).json()
        after.pop("banner")
        _post(client, EVENT)
    assert before == {"site": "default", "analytics": False, "ads": False, "policy_version": "", "source": "default"}
    assert recorded.status_code == 202
    assert banner["policy_version"] == "1" and banner["title"] == "Your privacy choices"  # what /consent.js shows
    assert after == {"site": "default", "analytics": True, "ads": True, "policy_version": "2026-01", "source": "recorded"}
    (consent,), (event,) = _consents(client), _stored(client)
    assert (consent.analytics, consent.ads, consent.policy_version, consent.source) == (True, True, "2026-01", "banner")
    assert event.visitor_id == consent.visitor_id and event.consent_ads


@pytest.mark.parametrize("signal", ["gpc", "dnt"])
def test_gpc_or_dnt_means_no_ads_consent_whatever_was_recorded(make_public, signal):
    with TestClient(make_public([Site(id="default", origins=["*"], consent="opt-out")])) as client:
        _post(client, EVENT | {signal: True})
        _post(client, EVENT)
    flagged, plain = _stored(client)
    assert (flagged.consent_ads, flagged.consent_analytics) == (False, True)
    assert plain.consent_ads


def test_the_site_default_applies_without_a_recorded_choice(make_public):
    sites = [Site(id="default", origins=["*"]), Site(id="clinic", origins=["*"], consent="opt-out")]
    with TestClient(make_public(sites)) as client:
        _post(client, EVENT)
        _post(client, EVENT | {"site": "clinic"})
    opt_in, opt_out = _stored(client)
    assert (opt_in.consent_analytics, opt_in.consent_ads) == (False, False)
    assert (opt_out.consent_analytics, opt_out.consent_ads) == (True, True)


def test_invalid_consent_is_400(make_public):
    with TestClient(make_public()) as client:
        response = client.post("/consent", content=b'{"site":"default","analytics":"yes","ads":false}',
                               headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["field"] == "analytics"
    with TestClient(make_public()) as client:
        response = client.post("/consent", content=b'{"site":"default","analytics":true,"ads":false,"source":"x"}',
                               headers={"content-type": "text/plain"})
    assert response.status_code == 400 and response.json()["field"] == "source"
    assert not _consents(client)


def test_the_consent_banner_is_its_own_first_party_file(make_public):
    with TestClient(make_public()) as client:
        banner, snippet = client.get("/consent.js"), client.get("/t.js")
    assert banner.status_code == 200 and banner.headers["content-type"].startswith("application/javascript")
    assert "set-cookie" not in banner.headers
    assert not re.search(r"https?://", banner.text.split("*/", 1)[1]), "the banner loads nothing from elsewhere"
    assert "sluice.consent" in banner.text and "globalPrivacyControl" in banner.text
    assert "consent.js" not in snippet.text  # pages that do not show the banner do not load it


def test_the_snippet_is_small_and_first_party(make_public):
    with TestClient(make_public()) as client:
        response = client.get("/t.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert "set-cookie" not in response.headers
    assert len(gzip.compress(response.content, 9)) <= 2048
    source = response.text
    assert "document.cookie" not in source
    assert not re.search(r"https?://", source.split("*/", 1)[1]), "the snippet names no other host"
    for needed in ("sendBeacon", "keepalive", "text/plain", "globalPrivacyControl", "doNotTrack", "pushState", "track",
                   "engaged-time", "scroll-depth", "outbound-links", "file-downloads", "404", "forms"):
        assert needed in source


def test_every_parsed_user_agent_field_has_its_column():
    from collector.useragent import Agent

    assert set(Agent.__struct_fields__) <= set(EventRow.__struct_fields__)
