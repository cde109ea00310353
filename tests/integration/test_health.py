"""/healthz and /readyz on a real uvicorn server, against real and stopped dependencies:
200 with every check listed when all answer, 503 naming the one that does not, never 500."""
from __future__ import annotations

import socket

import httpx
import pytest
from sqlalchemy import text

from newsletter.config import Settings
from newsletter.db import get_engine
from tests.databases import drop_pg_database, new_pg_database
from tests.integration.servers import SMTPServer, free_port
from tests.integration.stack import REDIS_URL
from tests.integration.web.site import Server


@pytest.fixture
def serve(tmp_path):
    """Starts the app for given settings; stops every server at the end."""
    servers: list[Server] = []

    def start(**changes) -> httpx.Client:
        settings = Settings(var_dir=tmp_path / "var", secret_key="health-secret", **changes)
        server = Server(settings)
        server.start()
        servers.append(server)
        return httpx.Client(base_url=server.url, timeout=30)

    yield start
    for server in servers:
        server.stop()


def _ready(http: httpx.Client) -> tuple[int, dict]:
    response = http.get("/readyz")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json()


def test_healthz_answers_without_touching_anything(serve):
    http = serve()
    response = http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert http.head("/healthz").status_code == 200
    assert http.head("/readyz").status_code == 200


def test_readyz_on_the_embedded_default_checks_the_database_only(serve):
    status, body = _ready(serve())
    assert status == 200 and body["status"] == "ready"
    assert list(body["checks"]) == ["database"]
    assert body["checks"]["database"]["ok"] is True


def test_readyz_fails_when_the_schema_is_behind_the_code(serve, tmp_path):
    http = serve()
    engine = get_engine(f"sqlite:///{tmp_path / 'var' / 'newsletter.sqlite3'}")
    with engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    status, body = _ready(http)
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "detail": f"schema at 0001, code expects {head}"}
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert _ready(http)[0] == 200


def test_readyz_checks_the_broker(serve):
    status, body = _ready(serve(broker_url=REDIS_URL))
    assert status == 200 and body["checks"]["broker"]["ok"] is True

    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    status, body = _ready(serve(broker_url=nobody))
    assert status == 503
    assert body["checks"]["broker"] == {"ok": False, "detail": "ConnectionError"}
    assert body["checks"]["database"]["ok"] is True


def test_readyz_checks_a_non_redis_broker_by_connecting(serve):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        status, body = _ready(serve(broker_url=f"amqp://guest:guest@127.0.0.1:{port}//"))
        assert status == 200 and body["checks"]["broker"]["ok"] is True
    status, body = _ready(serve(broker_url=f"amqp://guest:guest@127.0.0.1:{port}//"))
    assert status == 503 and body["checks"]["broker"]["ok"] is False


def test_readyz_checks_the_smtp_relay_when_it_is_the_backend(serve):
    relay = SMTPServer()
    relay.start()
    try:
        http = serve(delivery_backend="smtp", smtp_host="127.0.0.1", smtp_port=relay.port, smtp_timeout=5)
        status, body = _ready(http)
        assert status == 200 and body["checks"]["smtp"] == {"ok": True, "detail": "relay greeted with 220"}
    finally:
        relay.stop()
    status, body = _ready(http)
    assert status == 503 and body["checks"]["smtp"] == {"ok": False, "detail": "ConnectionRefusedError"}
    assert body["checks"]["database"]["ok"] is True


def test_readyz_is_a_503_not_a_500_when_the_database_is_gone(serve, pg_template):
    url = new_pg_database(pg_template)
    try:
        http = serve(database_url=url)
        assert _ready(http)[0] == 200
        drop_pg_database(url)
        status, body = _ready(http)
        assert status == 503 and body["checks"]["database"]["ok"] is False
        assert http.get("/healthz").status_code == 200  # the process itself is fine
    finally:
        drop_pg_database(url)
