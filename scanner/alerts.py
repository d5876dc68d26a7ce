"""Alerts: a third-party host that is not allowed, seen for the first time on a site, is announced once.

Always in the log; also to a webhook when one is configured, signed like the forwarder's:
`Sluice-Signature: v1=<hex HMAC-SHA256(secret, "<Sluice-Timestamp>.<raw body>")>`.
"""

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping

import httpx
import msgspec

from scanner.settings import ScannerSettings
from scanner.signatures import vendor_of
from warehouse.trackers import Trackers

log = logging.getLogger("sluice.scanner")


class Alert(msgspec.Struct, frozen=True):
    site: str
    host: str
    vendor: str
    message: str


def alert_new_hosts(trackers: Trackers, settings: ScannerSettings, http: httpx.Client,
                    env: Mapping[str, str]) -> list[Alert]:
    """Announce each host not yet announced for its site; allowed vendors are not news."""
    sent = []
    for site, host, vendor in trackers.unalerted():
        if settings.allowance(host):
            continue
        known = vendor or getattr(vendor_of(host), "name", "")
        alert = Alert(site=site, host=host, vendor=known,
                      message=f"{known or 'an unknown third party'} ({host}) appeared on site {site!r} and is not "
                              "on the allow-list")
        log.warning(alert.message, extra={"site": site, "host": host, "vendor": known})
        if settings.alert_webhook_url and not _post(alert, settings, http, env):
            continue  # not recorded as sent: the next check tries again
        trackers.alerted(site, host, known)
        sent.append(alert)
    return sent


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
