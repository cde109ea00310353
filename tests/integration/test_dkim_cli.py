"""`newsletter dkim keygen` and `newsletter dkim check` as an operator runs them."""
from __future__ import annotations

import re
import stat

from newsletter.config import sample_file


def test_keygen_then_check(run, tmp_path):
    run("publications", "load")
    out = run("dkim", "keygen", "spacewar-daily", "--selector", "nl202611", "--dir", str(tmp_path / "keys"))
    private = tmp_path / "keys" / "spacewar-daily.nl202611.private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "name:  nl202611._domainkey.spacewar.example.com" in out.stdout
    value = re.search(r"value: (v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+)\n", out.stdout).group(1)
    key_body = private.read_text().splitlines()[2]
    assert key_body not in out.stdout + out.stderr

    again = run("dkim", "keygen", "spacewar-daily", "--selector", "nl202611", "--dir", str(tmp_path / "keys"), ok=False)
    assert again.returncode == 2 and "exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    bad = run("dkim", "keygen", "spacewar-daily", "--selector", "no spaces", ok=False)
    assert bad.returncode == 2 and "--selector" in bad.stderr

    toml = tmp_path / "publications.toml"
    toml.write_text(sample_file("publications.toml").read_text() + (
        '\n[publications.dkim]\ndomain = "spacewar.example.com"\nselector = "nl202611"\n'
        'key_file = "keys/spacewar-daily.nl202611.private.pem"\n'))
    run("publications", "load", "--file", str(toml))
    out = run("dkim", "check", "spacewar-daily")
    assert "ok against the configured key: signature verified" in out.stdout
    assert "list-unsubscribe, list-unsubscribe" in out.stdout
    assert value.split("p=")[1] not in out.stdout  # the check shows no key, public or private

    # The key in an environment variable instead, then missing: one line, exit 2, no key.
    toml.write_text(toml.read_text().replace('key_file = "keys/spacewar-daily.nl202611.private.pem"',
                                             'key_env = "SPACEWAR_DKIM_KEY"'))
    run("publications", "load", "--file", str(toml))
    out = run("dkim", "check", "spacewar-daily", SPACEWAR_DKIM_KEY=private.read_text())
    assert "signature verified" in out.stdout
    broken = private.read_text()[:-100]
    out = run("dkim", "check", "spacewar-daily", ok=False, SPACEWAR_DKIM_KEY=broken)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "SPACEWAR_DKIM_KEY" in out.stderr and key_body not in out.stderr + out.stdout
    out = run("dkim", "check", "spacewar-daily", ok=False)
    assert out.returncode == 2 and "not set" in out.stderr


def test_check_without_dkim_settings_says_so(run):
    run("publications", "load")
    out = run("dkim", "check", "spacewar-daily", ok=False)
    assert out.returncode == 2 and "publications.dkim table is missing" in out.stderr
