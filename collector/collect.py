"""The public endpoints browsers call: /collect for events, /consent for choices, /csp-report for CSP violations."""

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from litestar import Request, Response, asgi, get, post, route
from litestar.response.base import ASGIResponse
from litestar.params import FromQuery
from litestar.types import Receive, Scope, Send
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from collector import metrics
from collector.clients import ClientResolver
from collector.consent import COOKIE as CONSENT_COOKIE
from collector.consent import ConsentCookies
from collector.enrich import Consent, Visit, enrich, new_id, visit_id, visit_start
from collector.errors import CollectorError
from collector.ratelimit import Rate, RateLimiter
from collector.settings import CollectorSettings, Site
from collector.spool import SpoolFull, Spools
from collector.csp import MEDIA_TYPES as CSP_MEDIA_TYPES
from collector.csp import HostQuota, Violation, decode_reports
from collector.wire import InvalidInput, decode_consent, decode_events
from warehouse.events import ANONYMOUS, ConsentRow
from warehouse.trackers import Finding

VISITOR_COOKIE = "sluice_vid"
SESSION_COOKIE = "sluice_sid"
_LONGEST_VISIT = timedelta(days=1)
_CLOCK_SKEW = timedelta(minutes=5)
_CONTENT_TYPES = ("application/json", "text/plain")
_RETRY_AFTER_FULL = "5"
MAX_BODY_BYTES = 64 * 1024
_json = msgspec.json.Encoder()


class Collector:
    """What the public endpoints share: sites, the spools, client addresses and the rate limiter."""

    def __init__(self, settings: CollectorSettings, sites: list[Site], spools: Spools, consent_key: bytes) -> None:
        self.settings = settings
        self.sites = {site.id: site for site in sites}
        self.spools = spools
        self.consent = ConsentCookies(consent_key)
        self.clients = ClientResolver(settings.trusted_proxies)
        self.limiter = RateLimiter(Rate.parse(settings.rate_limit))
        self.csp_hosts = HostQuota(settings.csp_hosts_per_hour)


@asgi("/collect", copy_scope=False)
async def collect_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """POST /collect, and its CORS preflight.

    A raw ASGI handler: this is the hottest path, and Litestar's per-route machinery would cost
    about a fifth of each request.
    """
    request: Request = Request(scope, receive)
    if request.method == "POST":
        response = await _collect(request)
    elif request.method == "OPTIONS":
        response = _preflight(request)
    else:
        response = _answer({"error": "use POST"}, 405, {"allow": "POST, OPTIONS"})
    await response(scope, receive, send)


async def _collect(request: Request) -> ASGIResponse:
    """Accept one event or a batch; answer 202 only once they are durable on disk."""
    collector: Collector = request.app.state.collector
    client_ip = collector.clients.address(request)
    refused = _refuse_early(request, collector, client_ip)
    if refused:
        return refused
    origin = request.headers.get("origin")
    try:
        body = await _read_body(request)
    except _TooLarge:
        return _reject("too_large", 413, {"error": f"the body is over {MAX_BODY_BYTES} bytes"}, request)
    try:
        events = decode_events(body)
        site = _check_site(collector, events[0].site, origin, "[0].site")
        for index, event in enumerate(events[1:], 1):
            if event.site != site.id:
                raise InvalidInput(f"[{index}].site", "a batch holds the events of one site")
        visitor_id, new_visitor = _visitor(request)
        received_at = datetime.now(UTC)
        session_id = _session(request, received_at)
        consent = _consent_in_force(request, site, None if new_visitor else visitor_id)[0]
        visit = Visit(
            received_at=received_at,
            client_ip=client_ip,
            user_agent=request.headers.get("user-agent", "")[:1024],
            visitor_id=visitor_id,
            session_id=session_id,
            consent=consent,
            gpc=request.headers.get("sec-gpc") == "1",
            dnt=request.headers.get("dnt") == "1",
        )
        rows = [enrich(event, visit, index) for index, event in enumerate(events)]
    except _Forbidden as exc:
        return _reject("origin", 403, {"error": "origin not allowed", "field": exc.field, "origin": origin}, request)
    except InvalidInput as exc:
        return _reject("invalid", 400, {"error": "invalid event", "field": exc.field, "rule": exc.rule}, request)
    try:
        await collector.spools.events.append(rows)
    except (SpoolFull, OSError):
        return _reject("spool_full", 503, {"error": "busy, retry later"}, request, retry_after=_RETRY_AFTER_FULL)
    metrics.EVENTS_ACCEPTED.inc(len(rows))
    if not consent.analytics:  # no cookie that could link this browser's requests; one set before is removed
        return _answer({"accepted": len(rows)}, HTTP_202_ACCEPTED,
                       _with_cookies(_cors(request), _forget_visitor(request, collector)))
    # The session cookie expires after the idle window, so the browser itself ends the session;
    # sending it again with every answer keeps it alive while the visitor is active.
    session_minutes = collector.settings.session_minutes
    cookies = [_cookie(SESSION_COOKIE, session_id.hex, request, collector, max_age=session_minutes * 60)]
    if new_visitor:
        cookies.append(_visitor_cookie(visitor_id, request, collector))
    return _answer({"accepted": len(rows)}, HTTP_202_ACCEPTED, _with_cookies(_cors(request), cookies))


@post("/consent", status_code=HTTP_202_ACCEPTED)
async def record_consent(request: Request) -> ASGIResponse:
    """Record the visitor's choices, append-only, and remember them in a first-party cookie."""
    collector: Collector = request.app.state.collector
    refused = _refuse_early(request, collector, collector.clients.address(request))
    if refused:
        return refused
    try:
        choice = decode_consent(await request.body())
        known = _check_site(collector, choice.site, request.headers.get("origin"), "site")
    except _Forbidden as exc:
        return _reject("origin", 403, {"error": "origin not allowed", "field": exc.field}, request)
    except InvalidInput as exc:
        return _reject("invalid", 400, {"error": "invalid consent", "field": exc.field, "rule": exc.rule}, request)
    policy_version = choice.policy_version or known.banner.policy_version
    body = _consent_body(choice.site, choice.analytics, choice.ads, policy_version, "recorded")
    visitor_id, new_visitor = _visitor(request)
    in_force, policy, source = _consent_in_force(request, known, None if new_visitor else visitor_id)
    if source == "recorded" and (in_force.analytics, in_force.ads, policy) == (choice.analytics, choice.ads,
                                                                             policy_version):
        # The same choice again (a consent platform repeats it on every page): on record already, nothing new.
        return _answer(body, HTTP_202_ACCEPTED, _cors(request))
    if new_visitor and not choice.analytics:
        visitor_id = ANONYMOUS  # a browser that refuses analytics gets no id; one it had keeps its refusal on record
    row = ConsentRow(site=choice.site, visitor_id=visitor_id, recorded_at=datetime.now(UTC), analytics=choice.analytics,
                     ads=choice.ads, policy_version=policy_version, source=choice.source)
    try:
        await collector.spools.consent.append([row])
    except (SpoolFull, OSError):
        return _reject("spool_full", 503, {"error": "busy, retry later"}, request, retry_after=_RETRY_AFTER_FULL)
    # Without analytics consent the choice is bound to no visitor, and the visitor cookie goes.
    bound_to = visitor_id if choice.analytics else ANONYMOUS
    consent = collector.consent.mint(choice.site, bound_to, Consent(analytics=choice.analytics, ads=choice.ads),
                                     policy_version)
    cookies = [_cookie(CONSENT_COOKIE, consent, request, collector)]
    if choice.analytics and new_visitor:
        cookies.append(_visitor_cookie(visitor_id, request, collector))
    elif not choice.analytics:
        cookies += _forget_visitor(request, collector)
    return _answer(body, HTTP_202_ACCEPTED, _with_cookies(_cors(request), cookies))


@get("/consent")
async def read_consent(request: Request, site: FromQuery[str] = "default") -> ASGIResponse:
    """The consent in force for this browser: its recorded choice, else the site's default."""
    collector: Collector = request.app.state.collector
    try:
        known = _check_site(collector, site, request.headers.get("origin"), "site")
    except _Forbidden as exc:
        return _reject("origin", 403, {"error": "origin not allowed", "field": exc.field}, request)
    except InvalidInput as exc:
        return _reject("invalid", 400, {"error": "invalid request", "field": exc.field, "rule": exc.rule}, request)
    visitor_id, new_visitor = _visitor(request)
    consent, policy, source = _consent_in_force(request, known, None if new_visitor else visitor_id)
    body = _consent_body(site, consent.analytics, consent.ads, policy, source) | {
        "banner": msgspec.to_builtins(known.banner)}  # what Sluice's banner shows, if the site uses it
    return _answer(body, 200, _cors(request))


@route("/consent", http_method=["OPTIONS"], status_code=HTTP_204_NO_CONTENT)
async def preflight(request: Request) -> Response[None]:
    return Response(None, status_code=HTTP_204_NO_CONTENT, headers=_preflight_headers(request))


def _preflight(request: Request) -> ASGIResponse:
    return ASGIResponse(status_code=HTTP_204_NO_CONTENT, headers=_preflight_headers(request))


@post("/csp-report", status_code=HTTP_202_ACCEPTED)
async def csp_report(request: Request) -> ASGIResponse:
    """File the third-party loads a Content-Security-Policy report names, for the pages of configured sites."""
    collector: Collector = request.app.state.collector
    if _media_type(request) not in CSP_MEDIA_TYPES:
        return _answer({"error": f"send {' or '.join(CSP_MEDIA_TYPES[:2])}"}, 415, {})
    wait = collector.limiter.retry_after(collector.clients.address(request))
    if wait is not None:
        return _answer({"error": "too many requests"}, 429, {"retry-after": str(wait)})
    try:
        violations = decode_reports(await _read_body(request))
    except _TooLarge:
        return _answer({"error": f"the body is over {MAX_BODY_BYTES} bytes"}, 413, {})
    except InvalidInput as exc:
        return _answer({"error": "invalid report", "field": exc.field, "rule": exc.rule}, 400, {})
    now = datetime.now(UTC)
    by_site: dict[str, list[Violation]] = {}
    for violation in violations:
        if site := _site_of_page(collector, violation.page):
            by_site.setdefault(site.id, []).append(violation)
    if violations and not by_site:
        return _answer({"error": "the report is about a page of no configured site"}, 400, {})
    rows = [Finding(scan_id="", site=site, page=v.page, host=v.host, vendor="", kind="csp", source="csp", seen_at=now)
            for site, named in by_site.items() for v in collector.csp_hosts.admit(site, named)]
    metrics.CSP_HOSTS_DROPPED.inc(sum(map(len, by_site.values())) - len(rows))
    try:
        await collector.spools.tracker_findings.append(rows)
    except (SpoolFull, OSError):
        return _answer({"error": "busy, retry later"}, 503, {"retry-after": _RETRY_AFTER_FULL})
    return _answer({"accepted": len(rows)}, HTTP_202_ACCEPTED, {})


def _site_of_page(collector: Collector, page: str) -> Site | None:
    """The site whose origins hold the page (a site open to any origin, failing that)."""
    origin = "/".join(page.split("/", 3)[:3])
    sites = collector.sites.values()
    return next((s for s in sites if origin in s.origins), None) or next((s for s in sites if "*" in s.origins), None)


def _preflight_headers(request: Request) -> dict[str, str]:
    """CORS preflight for senders that use application/json; the snippet's text/plain needs none."""
    cors = _cors(request)
    if not cors:
        return {}
    return cors | {"access-control-allow-methods": "GET, POST", "access-control-allow-headers": "content-type",
                   "access-control-max-age": "86400"}


class _TooLarge(CollectorError):
    pass


async def _read_body(request: Request) -> bytes:
    """The request body, refused past the limit before it is all read."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _TooLarge
    chunks, size, more = [], 0, True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return b""  # the client is gone; whatever is answered, nothing is stored
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class _Forbidden(CollectorError):
    def __init__(self, field: str) -> None:
        self.field = field


def _refuse_early(request: Request, collector: Collector, client_ip: str) -> ASGIResponse | None:
    if _media_type(request) not in _CONTENT_TYPES:
        return _reject("media_type", 415, {"error": "send application/json or text/plain"}, request)
    wait = collector.limiter.retry_after(client_ip)
    if wait is not None:
        return _reject("rate_limited", 429, {"error": "too many requests"}, request, retry_after=str(wait))
    return None


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _check_site(collector: Collector, site_id: str, origin: str | None, field: str) -> Site:
    """The site, if it exists and `origin` may send for it."""
    site = collector.sites.get(site_id)
    if site is None:
        raise InvalidInput(field, f"unknown site {site_id!r}")
    if not site.allows(origin):
        raise _Forbidden(field)
    return site


def _visitor(request: Request) -> tuple[uuid.UUID, bool]:
    """The visitor id from the first-party cookie, or a new random one to set."""
    try:
        visitor_id = uuid.UUID(request.cookies[VISITOR_COOKIE])
    except (KeyError, ValueError):
        return new_id(), True
    if visitor_id == ANONYMOUS:  # the id of nobody: a cookie carrying it was written by hand
        return new_id(), True
    return visitor_id, False


def _session(request: Request, now: datetime) -> uuid.UUID:
    """The visit id from its cookie while the visit lasts, else a new one that starts now.

    The warehouse files a visit under the time in its id, so an id the collector could not have minted in
    the last day (another version, or a time a client chose) starts a new visit instead.
    """
    try:
        cookie = uuid.UUID(request.cookies[SESSION_COOKIE])
    except (KeyError, ValueError):
        return visit_id(now, new_id().int)
    started = visit_start(cookie)
    if started is None or not now - _LONGEST_VISIT <= started <= now + _CLOCK_SKEW:
        return visit_id(now, new_id().int)
    return cookie


def _visitor_cookie(visitor_id: uuid.UUID, request: Request, collector: Collector) -> str:
    return _cookie(VISITOR_COOKIE, visitor_id.hex, request, collector)


def _cookie(name: str, value: str, request: Request, collector: Collector, max_age: int | None = None) -> str:
    """A Set-Cookie value, written out directly: our values need no quoting, and this runs per request."""
    secure = "; Secure" if collector.clients.is_https(request) else ""
    max_age = collector.settings.visitor_cookie_days * 86400 if max_age is None else max_age
    return f"{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"


def _forget_visitor(request: Request, collector: Collector) -> list[str]:
    """Set-Cookie values that remove the visitor and visit cookies this browser sent."""
    return [_cookie(name, "", request, collector, max_age=0) for name in (SESSION_COOKIE, VISITOR_COOKIE)
            if name in request.cookies]


def _with_cookies(headers: dict[str, str], cookies: list[str]) -> list[tuple[str, str]]:
    return [*headers.items(), *(("set-cookie", cookie) for cookie in cookies)]


def _default_consent(site: Site) -> Consent:
    granted = site.consent == "opt-out"
    return Consent(analytics=granted, ads=granted)


def _consent_in_force(request: Request, site: Site, visitor_id: uuid.UUID | None) -> tuple[Consent, str, str]:
    """The consent in force, its policy version, and whether it was recorded or is the site's default."""
    collector: Collector = request.app.state.collector
    cookie = request.cookies.get(CONSENT_COOKIE, "")
    # A choice that refused analytics is bound to no visitor (none was kept); any other to the visitor's id, so a
    # cookie bound to nobody never grants analytics.
    recorded = collector.consent.read(cookie, site.id, visitor_id)
    if recorded is None:
        anonymous = collector.consent.read(cookie, site.id, ANONYMOUS)
        recorded = anonymous if anonymous and not anonymous[0].analytics else None
    return (*recorded, "recorded") if recorded else (_default_consent(site), "", "default")


def _consent_body(site: str, analytics: bool, ads: bool, policy_version: str, source: str) -> dict:
    return {"site": site, "analytics": analytics, "ads": ads, "policy_version": policy_version, "source": source}


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    collector: Collector = request.app.state.collector
    if not origin or not any(site.allows(origin) for site in collector.sites.values()):
        return {}
    return {"access-control-allow-origin": origin, "access-control-allow-credentials": "true", "vary": "Origin"}


def _reject(reason: str, status: int, body: dict, request: Request, retry_after: str | None = None) -> ASGIResponse:
    metrics.EVENTS_REJECTED.labels(reason).inc()
    headers = _cors(request) | ({"retry-after": retry_after} if retry_after else {})
    return _answer(body, status, headers)


def _answer(body: dict, status: int, headers: dict[str, str] | list[tuple[str, str]]) -> ASGIResponse:
    """A JSON answer sent as is: the public endpoints skip Litestar's response processing."""
    return ASGIResponse(body=_json.encode(body), status_code=status, media_type="application/json", headers=headers)
