# Copyright (c) ovirt_ha.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report by email: the Markdown in the body, the HTML page and the JSON attached (private, may change).

SMTP with STARTTLS by default (implicit TLS or plain on request); the server's certificate is verified unless
told otherwise, and the login happens only over TLS unless ``security`` is ``none``.  The password is passed to
``smtplib`` only: it is never part of the message or of what is returned.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Dict, List, Optional

from . import html, markdown, render_json

SECURITY = ("starttls", "ssl", "none")
VERDICT_WORDS = {"ok": "OK", "at_risk": "AT RISK", "failing": "FAILING"}


class MailError(Exception):
    pass


@dataclass
class SmtpOptions:
    host: str
    port: int
    security: str = "starttls"
    username: Optional[str] = None
    password: Optional[str] = None
    ca_file: Optional[str] = None
    validate_certs: bool = True
    timeout: float = 30.0


def subject(document: Dict[str, Any], prefix: str = "[ovirt_ha]") -> str:
    verdict = document["verdict"]
    word = VERDICT_WORDS.get(verdict["state"], verdict["state"])
    return "%s cluster %s: %s, %s" % (prefix, document["cluster"]["name"], word, verdict["text"])


def message(document: Dict[str, Any], sender: str, recipients: List[str], prefix: str = "[ovirt_ha]") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject(document, prefix)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(markdown.render(document))
    msg.add_attachment(html.render(document).encode("utf-8"), maintype="text", subtype="html", filename="report.html")
    msg.add_attachment(render_json.render(document).encode("utf-8"), maintype="application", subtype="json",
                       filename="report.json")
    return msg


def _context(options: SmtpOptions) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.ca_file)
    if not options.validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def send(options: SmtpOptions, msg: EmailMessage) -> Dict[str, Any]:
    """Send ``msg``; returns the refused recipients (empty when all were accepted)."""
    if options.security not in SECURITY:
        raise MailError("security: expected one of %s, got %r" % (", ".join(SECURITY), options.security))
    try:
        if options.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(options.host, options.port, timeout=options.timeout,
                                                    context=_context(options))
        else:
            client = smtplib.SMTP(options.host, options.port, timeout=options.timeout)
        with client:
            client.ehlo()
            if options.security == "starttls":
                if not client.has_extn("starttls"):
                    raise MailError("the SMTP server %s:%d does not offer STARTTLS" % (options.host, options.port))
                client.starttls(context=_context(options))
                client.ehlo()
            if options.username:
                client.login(options.username, options.password or "")
            refused = client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError("the SMTP server %s:%d refused the login of %s (%d)"
                        % (options.host, options.port, options.username, exc.smtp_code))
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise MailError("sending the report through %s:%d failed: %s: %s"
                        % (options.host, options.port, exc.__class__.__name__, exc))
    return {"refused": sorted(refused)}
