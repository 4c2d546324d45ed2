"""Local servers receiving alerts: an HTTP server for webhooks and an SMTP server (aiosmtpd)
for e-mail, both on 127.0.0.1 and stopped in teardown."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class WebhookReceiver:
    """Records every POST; answers with the queued status codes, then 200."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    def delivered(self) -> list[dict[str, Any]]:
        """JSON bodies of the POSTs answered with success."""
        return [json.loads(r["body"]) for r in self.requests if r["status"] < 300]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            receiver.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": body, "status": status}
            )
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            if status < 300:
                receiver.received.set()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SmtpReceiver("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
            receiver.messages.append(envelope)
            return "250 Message accepted for delivery"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            receiver.logins.append((user, password))
            return AuthResult(success=user == "alerts" and password == "smtp-pass-123", handled=False)
        return AuthResult(success=False, handled=False)

    controller = aiosmtpd_controller.Controller(
        Handler(),
        hostname=receiver.host,
        port=receiver.port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],  # PLAIN only: one clean attempt
    )
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


@pytest.fixture
def hanging_endpoint() -> Iterator[str]:
    """An HTTP endpoint on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()
