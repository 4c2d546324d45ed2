"""The ``email`` channel: one plain-text e-mail per alert over SMTP (optional STARTTLS)."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pydantic import Field, SecretStr

from ai_trading_core.models import Alert

from ..errors import AlertDeliveryError
from ..payload import alert_subject, alert_text
from ..routing import DeliveryParams


class EmailChannelParams(DeliveryParams):
    """Parameters of the ``email`` channel. The password names an entry of
    ``[credentials]``; it never appears in the config itself."""

    host: str = Field(description="SMTP server host")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port (587 submission, 25 relay)")
    sender: str = Field(description="From address")
    recipients: list[str] = Field(min_length=1, description="To addresses")
    username: str | None = Field(default=None, description="SMTP login (with password_credential)")
    password_credential: str | None = Field(
        default=None, description="name of the credential holding the password"
    )
    starttls: bool = Field(default=True, description="upgrade the connection with STARTTLS before login")
    timeout: float = Field(default=10.0, gt=0, description="seconds for the SMTP dialogue")
    subject_prefix: str = Field(default="[ai-trading]", description="start of every subject line")


class EmailTransport:
    """Sends through :mod:`smtplib`. With ``starttls`` the server certificate is verified
    against the system trust store; login happens only after the upgrade."""

    def __init__(
        self,
        params: EmailChannelParams,
        password: SecretStr | None = None,
        ssl_context: ssl.SSLContext | None = None,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        """:param wall_time: seconds since the epoch for the Date header (the wall clock)."""
        if params.username and password is None:
            from ai_trading_core.errors import ConfigError

            raise ConfigError("email channel: username given without password_credential")
        self.params = params
        self._password = password
        self._ssl_context = ssl_context
        self._wall = wall_time

    def message(self, alert: Alert) -> EmailMessage:
        p = self.params
        msg = EmailMessage()
        msg["Subject"] = alert_subject(alert, p.subject_prefix)
        msg["From"] = p.sender
        msg["To"] = ", ".join(p.recipients)
        # Date is when the message is written (wall clock), so mail clients sort and filter it
        # as received; the alert's own time (a backtest's or replay's simulated clock) is in
        # the body and in X-AI-Trading-Alert-Time.
        msg["Date"] = formatdate(self._wall(), usegmt=True)
        msg["Message-ID"] = make_msgid(domain="ai-trading")
        msg["X-AI-Trading-Severity"] = alert.severity.value
        msg["X-AI-Trading-Alert-Time"] = alert.timestamp.isoformat()
        if alert.context is not None:
            msg["X-AI-Trading-Run"] = alert.context.run_id
        msg.set_content(alert_text(alert))
        return msg

    def deliver(self, alert: Alert) -> None:
        p = self.params
        msg = self.message(alert)
        try:
            with smtplib.SMTP(p.host, p.port, timeout=p.timeout) as smtp:
                smtp.ehlo()
                if p.starttls:
                    smtp.starttls(context=self._ssl_context or ssl.create_default_context())
                    smtp.ehlo()
                if p.username and self._password is not None:
                    smtp.login(p.username, self._password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise AlertDeliveryError(
                f"email via {p.host}:{p.port}: login refused (SMTP {exc.smtp_code})"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AlertDeliveryError(
                f"email via {p.host}:{p.port} failed: {type(exc).__name__}: {exc}"
            ) from None
