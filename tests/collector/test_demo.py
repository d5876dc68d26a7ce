from collections import Counter
from datetime import UTC, datetime, timedelta

from collector.demo import generate

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_demo_traffic_looks_like_a_hospital_website():
    rows = list(generate(20_000, days=90, site="main", seed=7, now=NOW))
    assert len(rows) == 20_000 and {row.site for row in rows} == {"main"}
    names = Counter(row.name for row in rows)
    assert names["pageview"] > 9_000 and {"appointment_request", "contact_form", "phone_click"} <= names.keys()
    # What the snippet's extensions measure: engagement on most page views, and some of everything else.
    assert names["engagement"] > 0.7 * names["pageview"]
    assert all(names[name] > 20 for name in ("404", "outbound-link", "file-download", "form-submit"))
    paths = {row.path for row in rows}
    assert {"/services/cardiology", "/services/orthopaedics", "/symptom-checker", "/find-a-doctor"} <= paths
    assert {"google", "facebook", "newsletter"} <= {row.utm_source for row in rows}
    assert {"gclid", "fbclid", "ttclid", "msclkid"} <= {row.click_id_type for row in rows}
    assert {"mobile", "desktop", "tablet", "bot"} <= {row.device_type for row in rows}
    assert any(row.gpc for row in rows) and not any(row.consent_ads for row in rows if row.gpc or row.dnt)
    assert 0 < sum(row.consent_ads for row in rows) < len(rows)
    assert all(NOW - timedelta(days=91) <= row.timestamp <= NOW for row in rows)
    # Visitors come back: fewer sessions than page views, fewer visitors than sessions.
    assert len({r.visitor_id for r in rows}) < len({r.session_id for r in rows}) < names["pageview"]


def test_the_same_seed_gives_the_same_journeys():
    first, second = (list(generate(500, 30, "main", seed=3, now=NOW)) for _ in range(2))
    assert [(r.visitor_id, r.path, r.timestamp) for r in first] == [(r.visitor_id, r.path, r.timestamp) for r in second]


def test_no_demo_event_lies_after_the_moment_it_was_generated():
    """A visit begun just before now ends at now: otherwise today's reports would miss events the table holds."""
    rows = list(generate(20_000, days=3, site="main", seed=8, now=NOW))
    assert max(row.timestamp for row in rows) <= NOW
    assert max(row.timestamp for row in rows) > NOW - timedelta(hours=2)


def test_demo_traffic_has_weekdays_busier_than_weekends_and_campaigns_that_start_and_end():
    rows = list(generate(60_000, days=90, site="main", seed=9, now=NOW))
    views = Counter(row.timestamp.weekday() for row in rows if row.name == "pageview")
    assert min(views[day] for day in range(5)) > 1.3 * max(views[5], views[6])
    start = NOW - timedelta(days=90)
    knee = [row.timestamp for row in rows if row.utm_campaign == "knee-replacement"]
    flu = [row.timestamp for row in rows if row.utm_campaign == "flu-shots"]
    assert knee and min(knee) >= start + timedelta(days=59)  # launched two thirds in
    assert flu and max(flu) <= start + timedelta(days=46)  # over halfway (a visit runs on a little)
