"""The collector: the public listener browsers reach, its durable spool, and the writer into the warehouse."""

from collector.app import public_app

__all__ = ["public_app"]
