"""Consent cookies: a reminder of a choice the server recorded, signed so that no other cookie grants anything.

The value is `<site>.<analytics><ads>.<policy version>.<signature>`, the signature an HMAC-SHA256 (first
16 bytes, base64url) over the site, the flags, the policy version and the visitor id it was recorded for:
a hand-written cookie, an edited one, or one copied beside another visitor's cookie reads as no choice.
"""

import base64
import hashlib
import hmac
import uuid

from collector.enrich import Consent
from collector.errors import ConsentKeyError

COOKIE = "sluice_consent"
KEY_BYTES = 32
_FLAGS = ("00", "01", "10", "11")


class ConsentCookies:
    """Mints and reads consent cookies with one key, shared by every worker and collector host."""

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ConsentKeyError(f"the consent cookie key has {len(key)} bytes; it needs at least {KEY_BYTES}")
        self._key = key

    def mint(self, site: str, visitor_id: uuid.UUID, consent: Consent, policy_version: str) -> str:
        payload = f"{site}.{int(consent.analytics)}{int(consent.ads)}.{policy_version}"
        return f"{payload}.{self._signature(payload, visitor_id)}"

    def read(self, value: str, site: str, visitor_id: uuid.UUID | None) -> tuple[Consent, str] | None:
        """The choice and policy version in `value` if this server minted it for `site` and `visitor_id`."""
        payload, _, signature = value.rpartition(".")
        cookie_site, _, rest = payload.partition(".")
        flags, _, policy = rest.partition(".")
        if visitor_id is None or cookie_site != site or flags not in _FLAGS or not policy:
            return None
        if not hmac.compare_digest(signature.encode(), self._signature(payload, visitor_id).encode()):
            return None
        return Consent(analytics=flags[0] == "1", ads=flags[1] == "1"), policy

    def _signature(self, payload: str, visitor_id: uuid.UUID) -> str:
        digest = hmac.new(self._key, f"{payload}.{visitor_id.hex}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
