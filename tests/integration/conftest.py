"""Fixtures for the worker tests: PostgreSQL database, Redis, SMTP server, Celery workers
(tests/integration/stack.py), and the command line (tests/command_line.py)."""
from __future__ import annotations

import pytest

from tests.command_line import CommandLine
from tests.databases import drop_pg_database, new_pg_database
from tests.integration.stack import Stack


@pytest.fixture
def stack(tmp_path, pg_template):
    url = new_pg_database(pg_template)
    st = Stack(tmp_path, url)
    try:
        yield st
    finally:
        st.close()
        drop_pg_database(url)


@pytest.fixture
def run(tmp_path) -> CommandLine:
    """`run("send", "spacewar-daily")`: the command line on a fresh install in tmp_path
    (tests/command_line.py); `run.using(NEWSLETTER_...=...)` for other settings."""
    return CommandLine.in_folder(tmp_path)


@pytest.fixture
def tls_files(tmp_path):
    """A key and a self-signed certificate for 127.0.0.1 (an SMTP server's STARTTLS)."""
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return key, cert
