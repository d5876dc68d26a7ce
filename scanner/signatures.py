"""Known trackers: the hosts each vendor serves from and the inline snippets that give it away.

Kept in this repository and reviewed like code: a vendor is added with its hosts (a host matches
itself and its subdomains) and the calls its inline tags make.
"""

import re

import msgspec


class Vendor(msgspec.Struct, frozen=True):
    name: str
    hosts: tuple[str, ...]
    snippets: tuple[str, ...] = ()
    """Regular expressions that find the vendor's inline tag in a page's own scripts."""


VENDORS: tuple[Vendor, ...] = (
    Vendor("Meta Pixel", ("connect.facebook.net", "facebook.com", "facebook.net"),
           (r"\bfbq\s*\(", r"_fbq\b")),
    Vendor("Google Tag Manager", ("googletagmanager.com",), (r"\bgtm\.start\b", r"GTM-[A-Z0-9]{4,}")),
    Vendor("Google Analytics", ("google-analytics.com", "analytics.google.com"),
           (r"\bgtag\s*\(", r"\bga\s*\(\s*['\"]create", r"GoogleAnalyticsObject")),
    Vendor("Google Ads", ("googleadservices.com", "googlesyndication.com", "doubleclick.net", "adservice.google.com"),
           (r"AW-[0-9]{6,}",)),
    Vendor("TikTok Pixel", ("analytics.tiktok.com", "tiktok.com"), (r"\bttq\.(?:load|page|track)\b",)),
    Vendor("LinkedIn Insight", ("snap.licdn.com", "px.ads.linkedin.com", "linkedin.com"),
           (r"_linkedin_partner_id", r"\blintrk\s*\(")),
    Vendor("Microsoft UET", ("bat.bing.com",), (r"\buetq\b",)),
    Vendor("Microsoft Clarity", ("clarity.ms",), (r"\bclarity\s*\(", r"clarity\.ms/tag")),
    Vendor("X (Twitter) Pixel", ("static.ads-twitter.com", "ads-twitter.com", "analytics.twitter.com", "t.co"),
           (r"\btwq\s*\(",)),
    Vendor("Pinterest Tag", ("ct.pinterest.com", "s.pinimg.com"), (r"\bpintrk\s*\(",)),
    Vendor("Snap Pixel", ("sc-static.net", "tr.snapchat.com"), (r"\bsnaptr\s*\(",)),
    Vendor("Reddit Pixel", ("redditstatic.com", "alb.reddit.com"), (r"\brdt\s*\(",)),
    Vendor("Hotjar", ("hotjar.com", "hotjar.io"), (r"\bhj\s*\(", r"_hjSettings")),
    Vendor("HubSpot", ("js.hs-scripts.com", "js.hs-analytics.net", "hubspot.com", "hs-banner.com"),
           (r"_hsq\b",)),
    Vendor("Segment", ("cdn.segment.com", "api.segment.io"), (r"analytics\.load\s*\(",)),
    Vendor("Adobe Analytics", ("omtrdc.net", "2o7.net", "demdex.net", "adobedtm.com"), (r"\bs\.t\s*\(\s*\)",)),
    Vendor("Quantcast", ("quantserve.com", "quantcount.com"), (r"_qevents\b",)),
    Vendor("Criteo", ("criteo.com", "criteo.net"), (r"criteo_q\b",)),
    Vendor("Taboola", ("taboola.com",), (r"_tfa\b",)),
    Vendor("Outbrain", ("outbrain.com",), (r"\bobApi\s*\(",)),
    Vendor("FullStory", ("fullstory.com",), (r"_fs_org\b",)),
    Vendor("Mixpanel", ("mixpanel.com", "mxpnl.com"), (r"mixpanel\.init\s*\(",)),
    Vendor("Heap", ("heapanalytics.com",), (r"heap\.load\s*\(",)),
    Vendor("Amplitude", ("amplitude.com",), (r"amplitude\.getInstance\s*\(", r"amplitude\.init\s*\(")),
    Vendor("Yandex Metrica", ("mc.yandex.ru",), (r"\bym\s*\(\s*\d+",)),
)
_SNIPPETS = [(vendor, re.compile(pattern)) for vendor in VENDORS for pattern in vendor.snippets]


def vendor_of(host: str) -> Vendor | None:
    """The vendor serving from `host`, matching subdomains too."""
    host = host.lower().rstrip(".")
    for vendor in VENDORS:
        if any(host == known or host.endswith("." + known) for known in vendor.hosts):
            return vendor
    return None


def snippets_in(script: str) -> list[Vendor]:
    """Vendors whose inline tag appears in a script's text, each once."""
    found: list[Vendor] = []
    for vendor, pattern in _SNIPPETS:
        if vendor not in found and pattern.search(script):
            found.append(vendor)
    return found
