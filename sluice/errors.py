"""Errors of the composing process: configuration, the data dir, serving and running commands."""


class SluiceError(Exception):
    """Base class for every failure of the `sluice` process itself."""


class SecretMissing(SluiceError):
    """The config names an environment variable for a secret, and it is not set."""
