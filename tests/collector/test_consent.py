"""Consent cookies: only a choice this server recorded, for this visitor, grants anything."""

import json

from litestar.testing import TestClient

from collector.app import public_app
from collector.settings import Banner, CollectorSettings, Site
from collector.spool import Spools
from collector.spool import read_segment
from tests.collector.test_collect import CHROME, EVENT, _post, _stored
from warehouse.events import ANONYMOUS, ConsentRow

CHOICE = {"site": "default", "analytics": True, "ads": True, "policy_version": "2026-01"}


def _record(client: TestClient, **choice) -> None:
    answer = client.post("/consent", content=json.dumps(CHOICE | choice), headers={"content-type": "text/plain"})
    assert answer.status_code == 202, answer.text


def _in_force(client: TestClient) -> dict:
    """The consent GET /consent says is in force (without the banner's text)."""
    answer = client.get("/consent", params={"site": "default"}).json()
    answer.pop("banner")
    return answer


def test_a_recorded_choice_is_remembered_by_a_signed_cookie(make_public):
    with TestClient(make_public()) as client:
        _record(client)
        cookie = client.cookies["sluice_consent"]
        assert _in_force(client)["source"] == "recorded"
        _post(client, EVENT)
    assert cookie.startswith("default.11.2026-01.") and len(cookie.rsplit(".", 1)[1]) == 22
    (event,) = _stored(client)
    assert event.consent_ads and event.consent_analytics


def test_a_hand_written_consent_cookie_grants_nothing(make_public):
    with TestClient(make_public()) as client:
        _post(client, EVENT)  # a visitor cookie of its own
        client.cookies.set("sluice_consent", "default.11.1.AAAAAAAAAAAAAAAAAAAAAA")  # well-formed, unsigned
        assert _in_force(client) == {"site": "default", "analytics": False, "ads": False, "policy_version": "",
                                     "source": "default"}
        _post(client, EVENT)
    assert [event.consent_ads for event in _stored(client)] == [False, False]


def test_an_edited_cookie_grants_nothing(make_public):
    with TestClient(make_public()) as client:
        _record(client, ads=False)
        signed = client.cookies["sluice_consent"]
        client.cookies.set("sluice_consent", signed.replace("default.10.", "default.11.", 1))
        assert _in_force(client)["source"] == "default"
        _post(client, EVENT)
    (event,) = _stored(client)
    assert not event.consent_ads and not event.consent_analytics


def test_a_cookie_copied_beside_another_visitors_cookie_grants_nothing(make_public):
    app = make_public()
    with TestClient(app) as patient:
        _record(patient)
        copied = patient.cookies["sluice_consent"]
    with TestClient(app) as other:
        _post(other, EVENT)
        other.cookies.set("sluice_consent", copied)
        assert _in_force(other)["source"] == "default"
        _post(other, EVENT)
    assert not any(event.consent_ads for event in _stored(other))


def test_only_a_collector_with_the_same_key_reads_a_cookie(tmp_path):
    sites = [Site(id="default", origins=["*"])]
    minting, sharing, stranger = (
        public_app(CollectorSettings(), sites,
                   Spools.open(tmp_path / name, max_bytes=2**20, segment_records=100, segment_seconds=0.1), key)
        for name, key in (("minting", b"k" * 32), ("sharing", b"k" * 32), ("stranger", b"s" * 32)))
    with TestClient(minting) as client:
        _record(client)
        cookies = dict(client.cookies)
    seen = {}
    for name, app in (("another worker", sharing), ("another install", stranger)):
        with TestClient(app, cookies=cookies) as client:
            seen[name] = _in_force(client)["source"]
    assert seen == {"another worker": "recorded", "another install": "default"}


def _set_cookies(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def test_without_analytics_consent_no_cookie_links_two_requests_and_nothing_identifying_is_stored(make_public):
    clicked = "https://www.example-hospital.org/knee?utm_campaign=knee&gclid=CLICK123"
    with TestClient(make_public()) as client:  # an opt-in site, and no choice yet
        answers = [_post(client, EVENT | {"url": clicked}, **{"user-agent": CHROME}) for _ in range(2)]
    assert all(a.status_code == 202 and not a.headers.get_list("set-cookie") for a in answers)
    for row in _stored(client):
        assert (row.visitor_id, row.session_id, str(row.client_ip)) == (ANONYMOUS, ANONYMOUS, "::")
        assert (row.user_agent, row.click_id) == ("", "")
        assert row.url == "https://www.example-hospital.org/knee?utm_campaign=knee"
        assert (row.browser, row.utm_campaign, row.click_id_type, row.path) == ("Chrome", "knee", "gclid", "/knee")
        assert "gclid" not in row.query_params and not row.consent_analytics


def test_refusing_analytics_removes_the_cookies_of_an_earlier_grant_and_keeps_the_refusal(make_public):
    with TestClient(make_public()) as client:
        _record(client)
        _post(client, EVENT)
        granted = client.cookies["sluice_vid"]
        refused = client.post("/consent", content=json.dumps(CHOICE | {"analytics": False, "ads": False}),
                              headers={"content-type": "text/plain"})
        gone = _set_cookies(refused)
        assert "Max-Age=0" in gone["sluice_vid"] and "Max-Age=0" in gone["sluice_sid"]
        assert _in_force(client) == {"site": "default", "analytics": False, "ads": False,
                                     "policy_version": "2026-01", "source": "recorded"}
        _post(client, EVENT)
    recorded = [c for segment in client.app.state.collector.spools.consent.segments()
                for c in read_segment(segment, ConsentRow)]
    assert [c.visitor_id.hex for c in recorded] == [granted, granted]  # the refusal is on the visitor's record
    first, last = _stored(client)
    assert first.visitor_id.hex == granted and last.visitor_id == ANONYMOUS


def test_a_new_visitor_refusing_analytics_gets_no_id_at_all(make_public):
    with TestClient(make_public()) as client:
        refused = client.post("/consent", content=json.dumps(CHOICE | {"analytics": False}),
                              headers={"content-type": "text/plain"})
        assert set(_set_cookies(refused)) == {"sluice_consent"}
        assert _in_force(client)["source"] == "recorded"
    (row,) = [c for segment in client.app.state.collector.spools.consent.segments()
              for c in read_segment(segment, ConsentRow)]
    assert row.visitor_id == ANONYMOUS and not row.analytics


def test_a_visitor_cookie_holding_the_id_of_nobody_is_a_new_visitor_and_mints_no_portable_grant(make_public):
    """Were the nil id taken as a visitor, the grant minted for it would read as anyone's consent."""
    app = make_public()
    with TestClient(app, cookies={"sluice_vid": ANONYMOUS.hex}) as forger:
        answer = forger.post("/consent", content=json.dumps(CHOICE), headers={"content-type": "text/plain"})
    cookies = _set_cookies(answer)
    minted = cookies["sluice_consent"].split(";")[0].split("=", 1)[1]
    assert "sluice_vid" in cookies and ANONYMOUS.hex not in cookies["sluice_vid"]  # a new visitor, with a real id
    with TestClient(app) as stranger:
        stranger.cookies.set("sluice_consent", minted)
        assert _in_force(stranger)["source"] == "default"
        _post(stranger, EVENT)
    (event,) = _stored(stranger)
    assert not event.consent_ads and event.visitor_id == ANONYMOUS


def test_a_consent_cookie_that_is_not_ascii_reads_as_no_choice(make_public):
    cookie = {"cookie": "sluice_consent=default.11.1.\u00e9t\u00e9".encode()}
    with TestClient(make_public()) as client:
        assert client.get("/consent", params={"site": "default"}, headers=cookie).json()["source"] == "default"
        assert _post(client, EVENT, **cookie).status_code == 202


def _rows(client: TestClient) -> list[ConsentRow]:
    spool = client.app.state.collector.spools.consent
    return [row for segment in spool.segments() for row in read_segment(segment, ConsentRow)]


def test_the_same_choice_again_is_not_recorded_twice_and_a_changed_one_is(make_public):
    with TestClient(make_public()) as client:
        _record(client)
        _record(client)  # a consent platform repeats the choice on every page
        _record(client, ads=False)
        _record(client, ads=False, policy_version="2026-06")  # a new policy version is a new choice
    assert [(row.ads, row.policy_version) for row in _rows(client)] == [
        (True, "2026-01"), (False, "2026-01"), (False, "2026-06")]


def test_a_choice_without_a_policy_version_is_filed_under_the_sites_current_one(make_public):
    site = Site(id="default", origins=["*"], banner=Banner(policy_version="2026-09"))
    with TestClient(make_public([site])) as client:
        client.post("/consent", content=b'{"site": "default", "analytics": true, "ads": false, "source": "tcf"}',
                    headers={"content-type": "text/plain"})
        assert _in_force(client)["policy_version"] == "2026-09"
    (row,) = _rows(client)
    assert (row.policy_version, row.source) == ("2026-09", "tcf")
