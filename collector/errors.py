"""The collector's errors."""


class CollectorError(Exception):
    """Base class for every collector failure."""
