"""Content-Security-Policy violation reports, in both forms browsers send them."""

import time
from collections.abc import Callable
from typing import Annotated

import msgspec

from collector.wire import InvalidInput
from warehouse.trackers import host_address, page_address

MEDIA_TYPES = ("application/csp-report", "application/reports+json", "application/json")
MAX_REPORTS = 100
_Text = Annotated[str, msgspec.Meta(max_length=4096)]


class _Legacy(msgspec.Struct, rename="kebab"):
    """`report-uri` reports: {"csp-report": {...}}."""

    document_uri: _Text = ""
    blocked_uri: _Text = ""
    effective_directive: _Text = ""
    violated_directive: _Text = ""


class _LegacyReport(msgspec.Struct):
    csp_report: _Legacy = msgspec.field(name="csp-report")


class _Body(msgspec.Struct, frozen=True, rename="camel"):
    document_url: _Text = msgspec.field(default="", name="documentURL")
    blocked_url: _Text = msgspec.field(default="", name="blockedURL")
    effective_directive: _Text = ""


class _Report(msgspec.Struct):
    """Reporting API reports: [{"type": "csp-violation", "body": {...}}, ...]."""

    type: _Text
    body: _Body = _Body()


class Violation(msgspec.Struct, frozen=True):
    page: str
    """The document's URL without its query or fragment, ids in its path masked."""
    host: str
    """The host the page was kept from loading."""
    directive: str


def decode_reports(body: bytes) -> list[Violation]:
    """The violations of third-party loads in a report body; inline and eval reports carry no host."""
    try:
        document = msgspec.json.decode(body)
        if isinstance(document, dict):
            legacy = msgspec.convert(document, _LegacyReport).csp_report
            raw = [(legacy.document_uri, legacy.blocked_uri, legacy.effective_directive or legacy.violated_directive)]
        elif isinstance(document, list) and len(document) <= MAX_REPORTS:
            reports = msgspec.convert(document, list[_Report])
            raw = [(r.body.document_url, r.body.blocked_url, r.body.effective_directive) for r in reports
                   if r.type == "csp-violation"]
        else:
            raise InvalidInput("$", f"a CSP report object, or a list of at most {MAX_REPORTS} reports")
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInput("$", f"not a CSP report: {exc}") from None
    violations = []
    for document_url, blocked_url, directive in raw:
        page, host = page_address(document_url), host_address(blocked_url)
        if page and host:
            violations.append(Violation(page=page, host=host, directive=directive[:64]))
    return violations


class HostQuota:
    """At most `per_hour` hosts a site's CSP reports may name in an hour (per worker process): anyone can send a
    report, and a flood of made-up hosts must not bury the real trackers in the compliance view."""

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.time) -> None:
        self._per_hour = per_hour
        self._clock = clock
        self._hour = -1
        self._hosts: dict[str, set[str]] = {}

    def admit(self, site: str, violations: list[Violation]) -> list[Violation]:
        """The violations whose host this site's hour still has room for; a host admitted before always is."""
        hour = int(self._clock() // 3600)  # clock hours
        if hour != self._hour:
            self._hour, self._hosts = hour, {}
        seen = self._hosts.setdefault(site, set())
        admitted = []
        for violation in violations:
            if violation.host not in seen and len(seen) < self._per_hour:
                seen.add(violation.host)
            if violation.host in seen:
                admitted.append(violation)
        return admitted
