"""Errors raised by the warehouse, each with a message an operator can act on."""


class WarehouseError(Exception):
    """Base class for every warehouse failure."""


class DsnError(WarehouseError, ValueError):
    """A warehouse DSN that cannot be used."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse could not be reached or opened."""


class MigrationError(WarehouseError):
    """A schema migration failed to apply."""
