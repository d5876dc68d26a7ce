"""The mailer's errors, each with a message an operator can act on."""


class MailError(Exception):
    """Base class for every mail failure."""


class RelayFailed(MailError):
    """The organisation's relay could not be reached, refused the login, or refused the message."""
