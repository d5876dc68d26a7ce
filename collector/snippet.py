"""GET /t.js: the first-party snippet pages include."""

from importlib.resources import files

from litestar import Response, get

SNIPPET = files("collector").joinpath("static/t.js").read_bytes()


@get("/t.js", sync_to_thread=False)
def snippet() -> Response:
    return Response(
        SNIPPET,
        media_type="application/javascript; charset=utf-8",
        headers={"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"},
    )
