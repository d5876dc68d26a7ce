"""The internal API's errors, each with a message the caller can act on."""


class ApiError(Exception):
    """Base class for every error the internal API raises itself."""


class AccountError(ApiError):
    """A change to an account that breaks a rule; the message says which."""


class Unavailable(ApiError):
    """A route whose part is not configured in this process (no forwarder policy, no demo loader)."""
