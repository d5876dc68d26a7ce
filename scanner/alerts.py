"""Alerts: a third-party host that is not allowed, seen for the first time on a site, is announced once.

Always in the log; also to a webhook when one is configured, signed like the forwarder's:
`Sluice-Signature: v1=<hex HMAC-SHA256(secret, "<Sluice-Timestamp>.<raw body>")>`.
"""

import hashlib
import hmac
import logging
import time
from collections import defaultdict
from collections.abc import Mapping

import httpx
import msgspec

from scanner.settings import ScannerSettings
from scanner.signatures import vendor_of
from warehouse.trackers import Trackers

log = logging.getLogger("sluice.scanner")
_LISTED = 10


class Alert(msgspec.Struct, frozen=True):
    site: str
    host: str
    vendor: str
    message: str


def alert_new_hosts(trackers: Trackers, settings: ScannerSettings, http: httpx.Client,
                    env: Mapping[str, str]) -> list[Alert]:
    """Announce each host not yet announced for its site; allowed vendors are not news.

    A known tracker is always announced on its own. Past `alert_summary_after` unknown hosts on a site in
    one check (a flood of made-up CSP reports, say), those are announced in one summary instead.
    """
    news: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for site, host, vendor in trackers.unalerted():
        if not settings.allowance(host):
            news[site].append((host, vendor or getattr(vendor_of(host), "name", "")))
    sent = []
    for site, hosts in news.items():
        unknown = [host for host, vendor in hosts if not vendor]
        summarised = unknown if len(unknown) > settings.alert_summary_after else []
        for host, vendor in hosts:
            if host not in summarised:
                sent += _announce(Alert(site=site, host=host, vendor=vendor,
                                        message=f"{vendor or 'an unknown third party'} ({host}) appeared on site "
                                                f"{site!r} and is not on the allow-list"),
                                  [host], trackers, settings, http, env)
        if summarised:
            listed = ", ".join(summarised[:_LISTED])
            more = f" and {len(summarised) - _LISTED} more" if len(summarised) > _LISTED else ""
            sent += _announce(Alert(site=site, host="", vendor="",
                                    message=f"{len(summarised)} unknown third parties appeared on site {site!r} and "
                                            f"are not on the allow-list: {listed}{more} (see Website trackers)"),
                              summarised, trackers, settings, http, env)
    return sent


def _announce(alert: Alert, hosts: list[str], trackers: Trackers, settings: ScannerSettings, http: httpx.Client,
              env: Mapping[str, str]) -> list[Alert]:
    log.warning(alert.message, extra={"site": alert.site, "host": alert.host, "vendor": alert.vendor})
    if settings.alert_webhook_url and not _post(alert, settings, http, env):
        return []  # not recorded as sent: the next check tries again
    for host in hosts:
        trackers.alerted(alert.site, host, alert.vendor)
    return [alert]


def _post(alert: Alert, settings: ScannerSettings, http: httpx.Client, env: Mapping[str, str]) -> bool:
    body = msgspec.json.encode(alert)
    timestamp = str(int(time.time()))
    secret = env.get(settings.alert_secret_env, "") if settings.alert_secret_env else ""
    if not secret:  # an alert signed with an empty key is one anybody could have sent
        log.error("alert webhook not called: its secret is not set", extra={"variable": settings.alert_secret_env})
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    try:
        response = http.post(settings.alert_webhook_url, content=body, timeout=10, headers={
            "content-type": "application/json", "sluice-timestamp": timestamp, "sluice-signature": f"v1={mac}"})
    except httpx.HTTPError as exc:
        log.error("alert webhook failed", extra={"error": type(exc).__name__})
        return False
    if not response.is_success:
        log.error("alert webhook refused", extra={"status": response.status_code})
    return response.is_success
