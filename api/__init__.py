"""The internal API: login and accounts, role checks, reports, exploration, compliance and operations."""

from api.app import internal_app

__all__ = ["internal_app"]
