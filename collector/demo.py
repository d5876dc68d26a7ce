"""Realistic hospital website traffic for demos, enriched by the same code as live events."""

import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import islice

import msgspec

from collector.enrich import Consent, Visit, enrich, visit_id
from collector.wire import WireEvent
from warehouse import Warehouse
from warehouse.events import ANONYMOUS, ConsentRow, EventRow, encode_rows, insert_lines
from warehouse.visits import store_events

HOST = "https://www.example-hospital.org"
SERVICE_LINES = ["cardiology", "orthopaedics", "oncology", "maternity", "neurology", "paediatrics", "urology"]
PAGES = (
    [f"/services/{line}" for line in SERVICE_LINES]
    + ["/", "/symptom-checker", "/find-a-doctor", "/locations", "/emergency", "/patient-portal", "/billing",
       "/visitors", "/careers", "/contact"]
)
AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 30),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 10),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", 8),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 4),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", 25),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 15),
    ("Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", 5),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 3),
]
# (weight, referrer, utm source/medium, campaigns, click id parameter, conversion multiplier)
SOURCES = [
    (30, "https://www.google.com/", None, [], None, 1.0),
    (6, "https://www.bing.com/", None, [], None, 1.0),
    (18, "", ("google", "cpc"), ["knee-replacement", "heart-health", "maternity-tours", "brand"], "gclid", 2.0),
    (9, "https://m.facebook.com/", ("facebook", "paid_social"), ["flu-shots", "cancer-screening"], "fbclid", 1.4),
    (3, "", ("tiktok", "paid_social"), ["new-parents"], "ttclid", 1.0),
    (2, "", ("bing", "cpc"), ["urgent-care"], "msclkid", 1.6),
    (7, "", ("newsletter", "email"), ["monthly-health-tips", "annual-checkup"], None, 1.8),
    (4, "https://www.linkedin.com/", ("linkedin", "social"), ["careers"], "li_fat_id", 0.5),
    (16, "", None, [], None, 1.2),
    (5, "https://www.healthgrades.com/", None, [], None, 1.5),
]
CONVERSIONS = [("appointment_request", 0.05), ("contact_form", 0.02), ("phone_click", 0.03)]
FORMS = {"appointment_request": "appointment", "contact_form": "contact"}
# Campaigns run for part of the period, as fractions of it from its start: knee replacement launches two thirds
# in, flu shots end halfway.
CAMPAIGN_RUNS = {"knee-replacement": (2 / 3, 1.0), "flu-shots": (0.0, 0.5), "maternity-tours": (0.2, 0.8)}
_WEEKDAY_WEIGHTS = [10, 10, 9, 9, 8, 5, 4]  # Monday first: people book care on weekdays
# How often each page is viewed, and how long it holds a reader (a symptom checker long, the home page briefly).
_PAGE_WEIGHTS = [8, 6, 5, 7, 5, 6, 3, 20, 14, 16, 6, 4, 5, 6, 3, 2, 4]
_READING = {"/": 0.4, "/symptom-checker": 2.5, "/find-a-doctor": 1.5, "/billing": 1.2, "/careers": 0.8}
_MISSING = ["/servcies/cardiology", "/old-site/visiting-hours", "/doctors/dr-smith"]
_DOWNLOADS = ["/files/visitor-guide.pdf", "/files/price-transparency.csv", "/files/pre-op-checklist.pdf"]
_OUTBOUND = ["www.cdc.gov", "maps.google.com", "www.medicare.gov"]
_BATCH = 50_000
_HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 7, 7, 7, 7, 6, 6, 6, 5, 4, 3, 2, 1]


def generate(events: int, days: int, site: str, seed: int, now: datetime | None = None) -> Iterator[EventRow]:
    """Exactly `events` rows from whole visitor journeys over the last `days` days."""
    rng = random.Random(seed)
    end = now or datetime.now(UTC)
    produced = 0
    while produced < events:
        for row in _visitor(rng, site, end - timedelta(days=days), end):
            yield row
            produced += 1
            if produced == events:
                return


def _visitor(rng: random.Random, site: str, start: datetime, end: datetime) -> Iterator[EventRow]:
    """One person's visits: the same browser, address, consent and privacy signals each time."""
    choice = rng.random()
    visitor = Visit(
        received_at=start,
        client_ip=f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randrange(1, 255)}",
        user_agent=rng.choices([a for a, _ in AGENTS], [w for _, w in AGENTS])[0],
        visitor_id=_uuid(rng),
        session_id=_uuid(rng),
        consent=Consent(analytics=choice < 0.8, ads=choice < 0.55),
        gpc=rng.random() < 0.08,
        dnt=rng.random() < 0.05,
    )
    while True:
        day = start + timedelta(days=rng.random() * (end - start).days)
        if rng.random() * 10 < _WEEKDAY_WEIGHTS[day.weekday()]:
            break
    at = day.replace(hour=rng.choices(range(24), _HOUR_WEIGHTS)[0], minute=rng.randrange(60))
    for _ in range(rng.choices([1, 2, 3], [70, 22, 8])[0]):
        if at > end:
            return
        visit = msgspec.structs.replace(visitor, received_at=at, session_id=visit_id(at, rng.getrandbits(128)))
        yield from _session(rng, site, visit, start, end)
        at += timedelta(days=rng.uniform(0.2, 10))


def _session(rng: random.Random, site: str, visit: Visit, start: datetime, end: datetime) -> Iterator[EventRow]:
    """One visit's page views with what the snippet's extensions measure, then its conversions; nothing after
    `end`, so no event lies in the future."""
    _, referrer, utm, campaigns, click, lift = rng.choices(SOURCES, [s[0] for s in SOURCES])[0]
    running = [c for c in campaigns if _running(c, (visit.received_at - start) / (end - start))]
    query = ""
    if utm and running:
        query = f"?utm_source={utm[0]}&utm_medium={utm[1]}&utm_campaign={rng.choice(running)}"
        if click:
            query += f"&{click}={_uuid(rng).hex[:20]}"
    url, previous = f"{HOST}{rng.choice(PAGES[:10])}{query}", referrer

    def event(name: str, at: str, **props) -> EventRow:
        return enrich(WireEvent(site=site, name=name, url=at, props=props), visit)

    for _ in range(rng.choices(range(1, 9), [30, 20, 15, 12, 9, 6, 5, 3])[0]):
        if visit.received_at > end:
            return
        if rng.random() < 0.01:
            url = f"{HOST}{rng.choice(_MISSING)}"
        yield enrich(WireEvent(site=site, name="pageview", url=url, referrer=previous), visit)
        if url.endswith(tuple(_MISSING)):
            yield event("404", url)
        stay = round(rng.randint(5, 240) * _READING.get(url.removeprefix(HOST).split("?")[0], 1.0))
        visit = msgspec.structs.replace(visit, received_at=visit.received_at + timedelta(seconds=stay))
        if visit.received_at <= end and rng.random() < 0.85:
            yield event("engagement", url, engaged_ms=stay * rng.randint(300, 950),
                        scroll=min(100, rng.randint(15, 60) + stay // 6))
        if visit.received_at <= end and rng.random() < 0.03:
            yield event("file-download", url, file=rng.choice(_DOWNLOADS))
        previous, url = url, f"{HOST}{rng.choices(PAGES, _PAGE_WEIGHTS)[0]}"
    if visit.received_at <= end and rng.random() < 0.04:
        yield event("outbound-link", previous, host=rng.choice(_OUTBOUND))
    for name, rate in CONVERSIONS:
        if rng.random() < rate * lift and visit.received_at <= end:
            if name in FORMS:
                yield event("form-submit", previous, form=FORMS[name])
            props = {"service_line": rng.choice(SERVICE_LINES)} if name == "appointment_request" else {}
            yield event(name, previous, **props)


def _running(campaign: str, moment: float) -> bool:
    """Whether `campaign` runs at `moment`, a fraction of the demo's period."""
    first, last = CAMPAIGN_RUNS.get(campaign, (0.0, 1.0))
    return first <= moment <= last


def recorded_choices(rows: list[EventRow]) -> list[ConsentRow]:
    """The choice each identified visitor of `rows` recorded just before their first event there, as the consent
    their events carry says: a visitor's choice is on record wherever their events say they made one."""
    first: dict[tuple[str, uuid.UUID], EventRow] = {}
    for row in rows:
        key = (row.site, row.visitor_id)
        if row.visitor_id != ANONYMOUS and (key not in first or row.timestamp < first[key].timestamp):
            first[key] = row
    return [ConsentRow(site=row.site, visitor_id=row.visitor_id, recorded_at=row.timestamp - timedelta(seconds=1),
                       analytics=row.consent_analytics, ads=row.consent_ads, policy_version="demo", source="demo")
            for row in first.values()]


def _store(warehouse: Warehouse, events: bytes, consent: bytes) -> None:
    token = f"demo-{uuid.uuid4()}"
    insert_lines(warehouse.client, "consent", consent, token=f"{token}-consent")
    store_events(warehouse.client, events, token=token)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def load(warehouse: Warehouse, events: int, days: int, site: str, seed: int, now: datetime | None = None) -> int:
    """Generate and insert `events` rows, and the consent choices they carry; inserting one batch overlaps
    generating the next."""
    rows = generate(events, days, site, seed, now)
    inserted, pending = 0, None
    with ThreadPoolExecutor(1) as inserter:
        while batch := list(islice(rows, _BATCH)):
            if pending:
                pending.result()
            pending = inserter.submit(_store, warehouse, encode_rows(batch), encode_rows(recorded_choices(batch)))
            inserted += len(batch)
        if pending:
            pending.result()
    return inserted
