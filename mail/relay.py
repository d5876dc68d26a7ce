"""Hand a message to the organisation's relay over SMTP, with TLS as its settings say."""

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage

from mail.errors import RelayFailed
from mail.settings import MailSettings


def deliver(message: EmailMessage, to: list[str], settings: MailSettings, env: Mapping[str, str]) -> list[str]:
    """Send `message` to `to` (never to what its headers might be read as) through the relay; return the addresses
    it refused. `RelayFailed` says why it took none."""
    tls = ssl.create_default_context(cafile=settings.ca_file or None)
    username, password = env.get(settings.username_env, ""), env.get(settings.password_env, "")
    opened = smtplib.SMTP_SSL if settings.security == "tls" else smtplib.SMTP
    extra = {"context": tls} if settings.security == "tls" else {}
    try:
        with opened(settings.relay, settings.port, timeout=settings.timeout_seconds, **extra) as smtp:
            if settings.security == "starttls":
                smtp.starttls(context=tls)
            if username:
                smtp.login(username, password)
            return sorted(smtp.send_message(message, to_addrs=to))
    except (OSError, smtplib.SMTPException) as exc:
        raise RelayFailed(f"the relay {settings.relay}:{settings.port} did not take the report: {exc}") from exc
