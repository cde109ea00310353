"""The SMTP backend against aiosmtpd on loopback: STARTTLS and login, one reused
connection, reconnection after the server drops it, and the 4xx/5xx/down split."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from newsletter.transport.backends import SMTPBackend
from newsletter.transport.failures import FailureClass, SendFailure
from tests.integration.servers import SMTPServer, authenticator, free_port

MESSAGE = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"


class Recorder:
    def __init__(self):
        self.sessions, self.messages = set(), []

    async def handle_DATA(self, server, session, envelope):
        self.sessions.add(id(session))
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, session.authenticated))
        return "250 OK"


def test_starttls_login_and_one_reused_connection(tls_files):
    import ssl

    key, cert = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        backend = SMTPBackend("127.0.0.1", port, starttls=True, username="relayuser", password="s3cret",
                              timeout=10, ca_file=str(cert))
        backend.open()
        for i in range(5):
            backend.send("a@example.com", f"r{i}@example.org", MESSAGE, f"<{i}@x>")
        backend.close()
        assert len(handler.messages) == 5 and len(handler.sessions) == 1
        assert all(authenticated for _, _, authenticated in handler.messages)
        wrong = SMTPBackend("127.0.0.1", port, starttls=True, username="relayuser", password="nope",
                            timeout=10, ca_file=str(cert))
        with pytest.raises(SendFailure) as down:
            wrong.open()
        assert down.value.failure_class == FailureClass.RELAY_DOWN
        untrusted = SMTPBackend("127.0.0.1", port, starttls=True, timeout=10)  # system CAs only
        with pytest.raises(SendFailure) as down:
            untrusted.open()
        assert down.value.failure_class == FailureClass.RELAY_DOWN
    finally:
        controller.stop()


def test_failure_classes_and_reconnect():
    server = SMTPServer()
    server.start()
    server.handler.reject = {"gone@example.org"}
    server.handler.defer_once = lambda rcpt: rcpt == "later@example.org"
    backend = SMTPBackend("127.0.0.1", server.port, timeout=5)
    try:
        backend.open()
        with pytest.raises(SendFailure) as perm:
            backend.send("a@example.com", "gone@example.org", MESSAGE, "<1@x>")
        assert perm.value.code == 550 and perm.value.failure_class == FailureClass.RECIPIENT_REFUSED
        with pytest.raises(SendFailure) as later:
            backend.send("a@example.com", "later@example.org", MESSAGE, "<2@x>")
        assert later.value.failure_class == FailureClass.TEMPORARY
        backend.send("a@example.com", "fine@example.org", MESSAGE, "<3@x>")  # same connection still usable
        server.stop()
        with pytest.raises(SendFailure) as lost:
            backend.send("a@example.com", "fine2@example.org", MESSAGE, "<4@x>")
        assert lost.value.failure_class in (FailureClass.TEMPORARY, FailureClass.RELAY_DOWN)
        with pytest.raises(SendFailure) as down:
            backend.send("a@example.com", "fine2@example.org", MESSAGE, "<4@x>")
        assert down.value.failure_class == FailureClass.RELAY_DOWN
        server.start()
        backend.send("a@example.com", "fine2@example.org", MESSAGE, "<4@x>")  # reconnects by itself
        assert server.handler.received == {"fine@example.org": 1, "fine2@example.org": 1}
    finally:
        backend.close()
        server.stop()
