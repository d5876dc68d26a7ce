"""Errors raised by the warehouse, each with a message an operator can act on."""


class WarehouseError(Exception):
    """Base class for every warehouse failure."""


class DsnError(WarehouseError, ValueError):
    """A warehouse DSN that cannot be used."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse could not be reached or opened."""


class MigrationError(WarehouseError):
    """A schema migration failed to apply."""


def first_line(exc: Exception) -> str:
    """The first line of an error's message: ClickHouse appends stack traces and versions after it."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
