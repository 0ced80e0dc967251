"""Email notices to churches about their /join requests (approved, declined), through
the server `[web.smtp]` names. Optional: without it, a church's private link is its only
news. A notice that cannot be sent is said to the admin; the decision stands.

A notice never carries the private link (the database keeps only its hash, and a link
in a mailbox is a password in a mailbox): it says where to find the link the church
was given when it asked.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage

from ..config import Config, SmtpConfig

TIMEOUT = 20.0  # seconds for the whole conversation with the mail server


def approved(site_name: str, church: str, join_url: str) -> tuple[str, str]:
    """The subject and text of an approval notice."""
    return (
        f"{site_name}: {church} is approved",
        f"Your request for the news on {church}'s website is approved.\n\n"
        "Open the private link you were given when you sent it (it starts with "
        f"{join_url}/r/): your embed code and feed addresses are there, with how to paste "
        "them and a form to change your options.\n",
    )


def declined(site_name: str, church: str, reason: str) -> tuple[str, str]:
    """The subject and text of a notice that a request was declined."""
    because = f"The reason given: {reason}\n" if reason else ""
    return (
        f"{site_name}: your request for {church}",
        f"Your request for the news on {church}'s website was declined.\n{because}\n"
        "This address is not kept: it was deleted with the request.\n",
    )


def send(config: Config, to: str, subject: str, text: str) -> str | None:
    """Send one notice; None when sent (or when no server is set), else why not, in
    words for the admin. Blocks: call it off the event loop."""
    smtp = config.web.smtp
    if smtp is None or not to:
        return None
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, to, subject
    message.set_content(text)
    try:
        with _connect(smtp) as server:
            if smtp.username:
                server.login(smtp.username, os.environ.get(smtp.password_env or "", ""))
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return f"the email to {to} was not sent ({smtp.host}:{smtp.port}: {exc})"
    return None


def _connect(smtp: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if smtp.security == "tls":
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT, context=context)
    server = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
    if smtp.security == "starttls":
        try:
            server.starttls(context=context)
        except BaseException:
            server.close()
            raise
    return server
