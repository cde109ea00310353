"""A publication's DKIM key (file or environment variable), key generation, the check,
and what the Composer makes of the DKIM and VERP settings."""
from __future__ import annotations

import stat
from datetime import date

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.delivery.compose import Composer, Recipient, sample_digest
from newsletter.delivery.driver import load
from newsletter.dkim.check import check_publication
from newsletter.dkim.keys import generate_key, private_key_for, signer_for
from newsletter.editions.build import build_edition
from newsletter.errors import ConfigurationError, Conflict
from newsletter.tracking.tokens import Tokens
from tests.helpers import add_article, at

NOW = at("2026-11-26T12:00:00")


@pytest.fixture(scope="module")
def pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def configure(pub, tmp_path, pem, *, env=""):
    pub.dkim_domain, pub.dkim_selector = "spacewar.example.com", "nl1"
    if env:
        pub.dkim_key_env, pub.dkim_key_file = env, ""
    else:
        path = tmp_path / "dkim.pem"
        path.write_bytes(pem)
        pub.dkim_key_file, pub.dkim_key_env = str(path), ""


def test_the_key_from_a_file_or_an_environment_variable(publication, tmp_path, pem):
    assert signer_for(publication) is None  # no [publications.dkim]: not signed
    configure(publication, tmp_path, pem)
    assert signer_for(publication).selector == "nl1"
    configure(publication, tmp_path, pem, env="NL_TEST_DKIM_KEY")
    assert private_key_for(publication, {"NL_TEST_DKIM_KEY": pem.decode()}).key_size == 2048
    one_line = pem.decode().replace("\n", "\\n")  # as written in a one-line env file
    assert private_key_for(publication, {"NL_TEST_DKIM_KEY": one_line}).key_size == 2048


def test_key_errors_say_where_and_never_show_the_key(publication, tmp_path, pem):
    secret_line = pem.decode().splitlines()[3]
    configure(publication, tmp_path, pem, env="NL_TEST_DKIM_KEY")
    with pytest.raises(ConfigurationError, match="NL_TEST_DKIM_KEY.*not set"):
        private_key_for(publication, {})
    broken = pem.decode()[:-80]
    with pytest.raises(ConfigurationError) as exc:
        private_key_for(publication, {"NL_TEST_DKIM_KEY": broken})
    assert "not an unencrypted PEM private key" in str(exc.value) and secret_line not in str(exc.value)
    configure(publication, tmp_path, pem)
    publication.dkim_key_file = str(tmp_path / "missing.pem")
    with pytest.raises(ConfigurationError, match=r"missing.pem\): cannot read it"):
        signer_for(publication)


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(publication, tmp_path):
    made = generate_key(publication, tmp_path / "keys", selector="nl2", domain="spacewar.example.com")
    assert stat.S_IMODE(made.private_path.stat().st_mode) == 0o600
    assert made.record.name == "nl2._domainkey.spacewar.example.com"
    assert made.record.value.startswith("v=DKIM1; k=rsa; p=")
    assert all(len(p) <= 255 for p in made.record.zone_line().split('"')[1::2])
    publication.dkim_domain, publication.dkim_selector = "spacewar.example.com", "nl2"
    publication.dkim_key_file = str(made.private_path)
    assert signer_for(publication).public_record() == made.record.value
    with pytest.raises(Conflict):
        generate_key(publication, tmp_path / "keys", selector="nl2", domain="spacewar.example.com")


def test_check_verifies_against_the_configured_key_and_dns(publication, settings, tmp_path, pem):
    configure(publication, tmp_path, pem)
    sample = sample_digest(settings, publication)
    report = check_publication(publication, sample)
    assert report.ok and report.signed_headers.count("list-unsubscribe") == 2
    published = signer_for(publication).public_record().encode()
    asked = []
    report = check_publication(publication, sample, dns=True, resolve=lambda n: asked.append(n) or published)
    assert report.ok and asked == [b"nl1._domainkey.spacewar.example.com."]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = ("v=DKIM1; k=rsa; p=" + other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo).hex()).encode()
    report = check_publication(publication, sample, dns=True, resolve=lambda n: wrong)
    assert not report.ok and "another public key" in report.results[-1].detail
    report = check_publication(publication, sample, dns=True, resolve=lambda n: None)
    assert not report.ok and report.results[-1].detail == "no TXT record found"


@pytest.fixture
def edition(session, publication, engine):
    add_article(session, "superpowers", "A headline", at("2026-11-26T10:00:00"))
    ed, _ = build_edition(session, publication, date(2026, 11, 26), now=NOW)
    session.commit()
    return load(engine, ed.id)[0]


READER = Recipient(5, "reader@example.org", "Reader", None, key=77, delivery_id=4242)


def test_verp_envelope_sender_names_the_delivery(settings, publication, edition):
    composed = Composer(settings, edition, publication).compose(READER, NOW)
    local, _, domain = composed.envelope_from.partition("@")
    assert local.startswith("bounces+") and domain == "spacewar.example.com"  # default: the sender's domain
    assert Tokens(settings.signing_key()).read_verp_address(composed.envelope_from) == 4242
    assert b"\r\nFrom: SpaceWar Daily <newsletter@spacewar.example.com>\r\n" in composed.data  # From unchanged

    publication.bounce_domain = "bounces.spacewar.example.com"
    composed = Composer(settings, edition, publication).compose(READER, NOW)
    assert composed.envelope_from.endswith("@bounces.spacewar.example.com")

    publication.verp = False
    composed = Composer(settings, edition, publication).compose(READER, NOW)
    assert composed.envelope_from == "newsletter@spacewar.example.com"


def test_composed_messages_are_signed_when_the_publication_says_so(settings, publication, edition, tmp_path, pem):
    plain = Composer(settings, edition, publication).compose(READER, NOW).data
    assert b"DKIM-Signature" not in plain
    configure(publication, tmp_path, pem)
    composer = Composer(settings, edition, publication)
    signed = composer.compose(READER, NOW).data
    assert signed.startswith(b"DKIM-Signature: ") and signed.count(b"DKIM-Signature") == 1
    record = composer.signer.public_record().encode()
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record)
    publication.dkim_key_file = str(tmp_path / "gone.pem")
    with pytest.raises(ConfigurationError):  # refuses to send rather than send unsigned
        Composer(settings, edition, publication)


def test_feedback_id_and_the_mailto_unsubscribe_beside_the_url(settings, publication, edition, tmp_path, pem):
    """Gmail's a:b:c:SenderId names the edition, the publication and us, never the reader;
    List-Unsubscribe offers the https URL first (RFC 8058's one-click) and the mailto:
    address on the bounce domain, whose token names what the link names. DKIM covers both."""
    import email
    from email import policy

    publication.bounce_domain = "bounces.spacewar.example.com"
    configure(publication, tmp_path, pem)
    composer = Composer(settings, edition, publication)
    data = composer.compose(READER, NOW).data
    msg = email.message_from_bytes(data, policy=policy.default)
    assert msg["Feedback-ID"] == f"{edition.id}:{publication.slug}:edition:newsletter"
    assert b"reader" not in msg["Feedback-ID"].encode() and str(READER.subscriber_id) not in msg["Feedback-ID"]
    url, mailto = (o.strip() for o in str(msg["List-Unsubscribe"]).split(","))
    assert url.startswith("<https://news.example.com/u/") and msg["List-Unsubscribe-Post"]
    assert mailto.startswith("<mailto:unsubscribe+") and mailto.endswith("@bounces.spacewar.example.com>")
    claim = Tokens(settings.signing_key()).read_mailto_unsubscribe(mailto.strip("<>").removeprefix("mailto:"))
    assert (claim.subscriber_id, claim.key, claim.publication_id, claim.edition_id) == (
        READER.subscriber_id, READER.key, publication.id, edition.id)
    record = composer.signer.public_record().encode()
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: record)
    signed_fields = data.split(b"h=", 1)[1].split(b";", 1)[0].replace(b"\r\n ", b"").split(b":")
    assert signed_fields.count(b"feedback-id") == 2 and b"list-unsubscribe" in signed_fields  # oversigned

    settings.feedback_sender_id = ""
    publication.verp = False  # no bounce domain in use: the mailto: would reach nobody
    msg = email.message_from_bytes(Composer(settings, edition, publication).compose(READER, NOW).data,
                                   policy=policy.default)
    assert msg["Feedback-ID"] is None and "mailto:" not in str(msg["List-Unsubscribe"])
