"""The collector's errors."""


class CollectorError(Exception):
    """Base class for every collector failure."""


class ConsentKeyError(CollectorError):
    """The key that signs consent cookies is missing or too short."""
