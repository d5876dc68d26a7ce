"""GET /t.js and /consent.js: the first-party snippet pages include, and its optional consent banner."""

from importlib.resources import files

from calmjs.parse import es5
from calmjs.parse.unparsers.es5 import minify_print
from litestar import Response, get


def _minified(name: str) -> bytes:
    """The script as browsers get it: local names shortened, comments and spaces gone (it must stay small)."""
    source = files("collector").joinpath(f"static/{name}").read_text(encoding="utf-8")
    header = source[:source.index("*/") + 2]  # what the file is, for whoever reads a page's scripts
    return f"{header}\n{minify_print(es5(source), obfuscate=True, obfuscate_globals=False)}".encode()


SNIPPET = _minified("t.js")
BANNER = _minified("consent.js")


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
