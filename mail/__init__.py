"""Scheduled reports: a saved view's figures, emailed weekly or monthly through the organisation's relay."""

from mail.errors import MailError
from mail.settings import MailSettings

__all__ = ["MailError", "MailSettings"]
