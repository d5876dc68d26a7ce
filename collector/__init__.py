"""The collector: the public listener's endpoints and the internal API, as Litestar apps."""

from collector.apps import internal_app, public_app

__all__ = ["internal_app", "public_app"]
