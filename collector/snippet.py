"""GET /t.js and /consent.js: the first-party snippet pages include, and its optional consent banner."""

from importlib.resources import files

from litestar import Response, get

SNIPPET = files("collector").joinpath("static/t.js").read_bytes()
BANNER = files("collector").joinpath("static/consent.js").read_bytes()


@get("/t.js", sync_to_thread=False)
def snippet() -> Response:
    return _script(SNIPPET)


@get("/consent.js", sync_to_thread=False)
def banner() -> Response:
    """The banner records a choice through the snippet's `sluice.consent`; its text comes from GET /consent."""
    return _script(BANNER)


def _script(body: bytes) -> Response:
    return Response(body, media_type="application/javascript; charset=utf-8",
                    headers={"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"})
