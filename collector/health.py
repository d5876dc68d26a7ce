"""Liveness of the public listener."""

import msgspec
from litestar import get


class Health(msgspec.Struct, frozen=True):
    status: str


@get("/healthz", sync_to_thread=False)
def public_health() -> Health:
    """The public listener is up: it answers even while the warehouse is away."""
    return Health(status="ok")
