"""The forwarder's errors, each with a message an operator can act on."""


class ForwarderError(Exception):
    """Base class for every forwarder failure."""


class MissingCredential(ForwarderError):
    """A destination's credential is not in the environment."""


class UnknownDestination(ForwarderError, ValueError):
    """A run asked for a destination the policy does not have."""


class InvalidWindow(ForwarderError, ValueError):
    """A run asked for a window that does not start where the policy's windows start."""


class Blocked(ForwarderError):
    """A request the guard stopped; nothing was sent."""


class ForwarderBusy(ForwarderError):
    """Another instance holds the forwarder's lease: it is delivering now."""
