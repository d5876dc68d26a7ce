"""A report-only Content-Security-Policy that allows a site's own origins and its allowed vendors.

Browsers then report every other third party a page loads, logged-in pages included, to /csp-report.
"""

from scanner.settings import ScannerSettings

_DIRECTIVES = ("default-src", "script-src", "style-src", "img-src", "connect-src", "frame-src", "font-src", "media-src")
_EXTRA = {"script-src": "'unsafe-inline'", "style-src": "'unsafe-inline'", "img-src": "data:", "font-src": "data:"}


def report_only_headers(origins: list[str], settings: ScannerSettings, report_uri: str) -> dict[str, str]:
    """The two response headers to add to the site's pages: the policy and where reports go."""
    sources = ["'self'", *(o for o in origins if o != "*")]
    for allowed in settings.allowed:
        sources += [f"https://{allowed.host}", f"https://*.{allowed.host}"]
    sources = list(dict.fromkeys(sources))
    directives = [" ".join([name, *sources, *([_EXTRA[name]] if name in _EXTRA else [])]) for name in _DIRECTIVES]
    policy = "; ".join([*directives, f"report-uri {report_uri}", "report-to csp"])
    return {"Content-Security-Policy-Report-Only": policy, "Reporting-Endpoints": f'csp="{report_uri}"'}
