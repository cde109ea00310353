"""DKIM and VERP settings in the publications file."""
import pytest
from sqlalchemy import select

from newsletter.publications.load import PublicationsFileError, load_publications
from newsletter.publications.models import Publication
from tests.helpers import GOOD_PUBLICATIONS as GOOD

DKIM = """
[publications.dkim]
domain = "Example.com"
selector = "NL202611"
key_file = "keys/daily.pem"
"""


def test_dkim_and_verp_settings_are_loaded(session, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(GOOD + DKIM)
    (pub,) = load_publications(session, path)
    assert (pub.dkim_domain, pub.dkim_selector, pub.dkim_algorithm) == ("example.com", "nl202611", "rsa-sha256")
    assert pub.dkim_key_file == str(tmp_path / "keys" / "daily.pem")  # relative to the file's folder
    assert pub.verp and pub.effective_bounce_domain == "example.com"

    path.write_text(GOOD.replace('list_id =', 'verp = false\nbounce_domain = "bounces.example.com"\nlist_id =')
                    + DKIM.replace('key_file = "keys/daily.pem"', 'key_env = "DAILY_DKIM_KEY"'))
    (pub,) = load_publications(session, path)
    assert (pub.dkim_key_file, pub.dkim_key_env) == ("", "DAILY_DKIM_KEY")
    assert not pub.verp and pub.effective_bounce_domain == "bounces.example.com"

    path.write_text(GOOD)  # the table removed: no longer signed
    (pub,) = load_publications(session, path)
    assert (pub.dkim_domain, pub.dkim_key_file, pub.dkim_key_env) == ("", "", "")


PASTED_KEY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDgmwnBsLweynPV"


@pytest.mark.parametrize("change", [
    ('domain = "Example.com"', 'domain = "other.org"'),  # not aligned with the From domain
    ('selector = "NL202611"', 'selector = "bad selector"'),
    ('key_file = "keys/daily.pem"', ''),  # no key source
    ('key_file = "keys/daily.pem"', 'key_file = "k.pem"\nkey_env = "K"'),  # two
    ('key_file = "keys/daily.pem"', 'key_env = "1NOT-A-NAME"'),
    ('key_file = "keys/daily.pem"', f'key_env = "-----BEGIN PRIVATE KEY-----\\n{PASTED_KEY}"'),
    ('key_file = "keys/daily.pem"', f'key = "{PASTED_KEY}"\nkey_file = "k.pem"'),
    ('selector', 'algorithm = "rsa-sha1"\nselector'),
])
def test_bad_dkim_settings_change_nothing_and_are_not_echoed(session, tmp_path, change):
    path = tmp_path / "p.toml"
    path.write_text(GOOD + DKIM.replace(*change))
    with pytest.raises(PublicationsFileError) as exc:
        load_publications(session, path)
    assert PASTED_KEY not in str(exc.value) and "\n" not in str(exc.value)
    assert session.scalars(select(Publication)).all() == []


def test_bad_bounce_domain(session, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(GOOD.replace("list_id =", 'bounce_domain = "not a domain"\nlist_id ='))
    with pytest.raises(PublicationsFileError, match="bounce_domain"):
        load_publications(session, path)
