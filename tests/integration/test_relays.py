"""Several relays (issue 22, item 4): three real SMTP servers on loopback, one serving the
big mailbox provider's domain, two the rest; the big one starts answering 421 mid-send.
Everyone gets the edition exactly once across the three, nobody's attempts are spent on
the dead relay, its mail goes through the others, the rest never through it, and
`editions status` shows the split. Inline on SQLite and PostgreSQL, and on real workers
(Redis shared limits and connection slots, PostgreSQL)."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, text

from newsletter.config import RelaySettings
from newsletter.delivery.models import Delivery
from newsletter.delivery.report import report
from newsletter.jobs import InlineDispatcher
from newsletter.operators.editions import relays as relay_split
from tests.command_line import CommandLine
from tests.helpers import seed_edition as seed
from tests.integration.servers import SMTPServer, wait_for

BIG = "mail.big.example"  # a subdomain of what the big relay serves
DOWN_AFTER = 40  # the big relay answers 421 to every MAIL once it has taken this many


@pytest.fixture
def relays():
    servers = {name: SMTPServer() for name in ("big", "rest1", "rest2")}
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def goes_down_after(server: SMTPServer, n: int) -> None:
    """From its n-th message on, 421 to MAIL: the relay is closing, for every message."""
    handler = server.handler
    handler.mail_reply = lambda sender: "421 4.3.2 Service shutting down" if handler.total() >= n else None


def pool(servers, **big) -> list[RelaySettings]:
    return [RelaySettings(name="big", host="127.0.0.1", port=servers["big"].port, domains=["big.example"], **big),
            RelaySettings(name="rest1", host="127.0.0.1", port=servers["rest1"].port),
            RelaySettings(name="rest2", host="127.0.0.1", port=servers["rest2"].port)]


def addresses(n: int) -> list[str]:
    """Every third reader at the big provider."""
    return [f"r{i:04d}@{BIG if i % 3 == 0 else 'example.org'}" for i in range(n)]


def received(servers) -> dict[str, Counter]:
    return {name: Counter({a: k for a, k in s.handler.received.items() if a.startswith("r")})
            for name, s in servers.items()}


def check_split(servers, everyone: list[str], connections: int = 1) -> None:
    got = received(servers)
    total = got["big"] + got["rest1"] + got["rest2"]
    assert total == Counter({a: 1 for a in everyone}), "everyone exactly once across the three relays"
    assert got["big"] and all(a.endswith("@" + BIG) for a in got["big"]), "the big relay took its own domain only"
    # Down from its DOWN_AFTER-th message: one more per other connection may have been under way.
    assert DOWN_AFTER <= len(got["big"]) < DOWN_AFTER + connections
    moved = [a for a in got["rest1"] + got["rest2"] if a.endswith("@" + BIG)]
    assert moved, "the big relay's mail went through the others once it was down"
    assert got["rest1"] and got["rest2"], "the rest spread over both relays that serve it"
    assert servers["big"].handler.replies["421"] >= 1


def attempts_and_relays(engine, edition_id) -> tuple[int, dict[str, int]]:
    with engine.connect() as c:
        most = c.scalar(select(func.max(Delivery.attempts)).where(Delivery.edition_id == edition_id))
        split = dict(c.execute(select(Delivery.relay, func.count()).where(
            Delivery.edition_id == edition_id, Delivery.status == "sent").group_by(Delivery.relay)).all())
    return most, split


@pytest.mark.parametrize("backend_name", ["sqlite", "postgres"], indirect=True)
def test_three_relays_one_down_mid_send_everyone_once_no_attempt_spent(engine, settings, publication, relays):
    everyone = addresses(300)
    edition_id = seed(engine, publication, everyone)
    settings.delivery_backend = "smtp"
    settings.relays = pool(relays)
    settings.smtp_timeout = 5
    settings.relay_down_retry_seconds = 60  # not tried again within the test
    settings.batch_size = 50
    goes_down_after(relays["big"], DOWN_AFTER)
    status, counts = InlineDispatcher(settings).run_edition(edition_id)
    assert status == "sent", counts
    check_split(relays, everyone)
    most, split = attempts_and_relays(engine, edition_id)
    assert most == 0, "nobody's attempt was spent on the dead relay"
    got = received(relays)
    assert split == {name: sum(c.values()) for name, c in got.items()}  # the marks name the relay that took each
    with engine.connect() as c:
        r = report(c, edition_id, relays=["big", "rest1", "rest2"])
    assert [name for name, _, _ in r.relays_down] == ["big"] and "421" in r.relays_down[0][2]
    assert not r.relay_down_since  # the edition itself never waited: the others took the mail
    shown = {x["relay"]: x for x in relay_split(r)}
    assert shown["big"]["sent"] == DOWN_AFTER and shown["big"]["down_since"] and shown["rest1"]["down_since"] is None
    out = status_of(settings, edition_id)
    assert f"relay big: {DOWN_AFTER} sent; down since" in out and "relay rest1: " in out, out


def test_a_single_relay_is_a_pool_of_one_and_its_outage_still_waits(engine, settings, publication, relays):
    """NEWSLETTER_SMTP_* alone: today's relay; when it is down the edition waits, as before."""
    edition_id = seed(engine, publication, addresses(30))
    settings.delivery_backend = "smtp"
    settings.smtp_port = relays["rest1"].port
    settings.smtp_timeout = 5
    settings.inline_wait_seconds = 0
    relays["rest1"].handler.mail_reply = lambda sender: "421 4.3.2 Service shutting down"
    status, _ = InlineDispatcher(settings).run_edition(edition_id)
    assert status == "sending"
    with engine.connect() as c:
        r = report(c, edition_id)
    assert r.relay_down_since and "421" in r.relay_error
    assert attempts_and_relays(engine, edition_id)[0] == 0
    relays["rest1"].handler.mail_reply = lambda sender: None
    settings.inline_wait_seconds = 60
    settings.relay_down_retry_seconds = 0
    status, _ = InlineDispatcher(settings).run_edition(edition_id)
    assert status == "sent"
    assert attempts_and_relays(engine, edition_id) == (0, {f"127.0.0.1:{relays['rest1'].port}": 30})


def status_of(settings, edition_id) -> str:
    run = CommandLine.for_settings(settings, COLUMNS="250", NEWSLETTER_DELIVERY_BACKEND="smtp",
                                   NEWSLETTER_RELAYS="[" + ",".join(r.model_dump_json() for r in settings.relays) + "]")
    return run("editions", "status", str(edition_id)).stdout


def test_three_relays_on_workers_one_down_mid_send(stack):
    """Real workers (two processes), Redis for the relays' shared rate and connection
    slots, PostgreSQL: the same outcome as inline."""
    servers = {"big": SMTPServer(), "rest1": stack.smtp, "rest2": SMTPServer()}
    for name in ("big", "rest2"):
        servers[name].start()
    try:
        _, edition_id = stack.seed(0)
        everyone = addresses(600)
        with stack.engine.begin() as c:  # the seeded edition, with our readers
            pub_id = c.scalar(text("SELECT publication_id FROM editions WHERE id = :e"), {"e": edition_id})
            for address in everyone:
                sid = c.scalar(text("INSERT INTO subscribers (email, name, created_at, token_key) "
                                    "VALUES (:a, 'Reader', now(), 1) RETURNING id"), {"a": address})
                c.execute(text("INSERT INTO subscriptions (subscriber_id, publication_id, status, created_at, "
                               "updated_at, confirm_nonce) VALUES (:s, :p, 'active', now(), now(), 0)"),
                          {"s": sid, "p": pub_id})
        stack.env["NEWSLETTER_RELAYS"] = "[" + ",".join(
            r.model_dump_json() for r in pool(servers, max_connections=2, rate_per_second=400)) + "]"
        stack.env["NEWSLETTER_RELAY_DOWN_RETRY_SECONDS"] = "5"
        goes_down_after(servers["big"], DOWN_AFTER)
        stack.worker(concurrency=2)
        stack.send("drive", edition_id)
        stack.wait_sent(edition_id)
        check_split(servers, everyone, connections=2)
        most, split = attempts_and_relays(stack.engine, edition_id)
        assert most == 0
        assert split == {name: sum(c.values()) for name, c in received(servers).items()}
        wait_for(lambda: not stack.redis.keys("nl:relay:big:connections") or
                 not stack.redis.zcard("nl:relay:big:connections"), 10, what="the big relay's slots given back")
    finally:
        for name in ("big", "rest2"):
            servers[name].stop()
