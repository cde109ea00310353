"""The admin commands as a script uses them (tests/command_line.py): staff and tokens, the
subscriber list (list, show, export, disable, enable, erase), suppressions, the audit log."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone


def test_staff_and_tokens(run):
    out = run("staff", "add", "boss@example.org", "--role", "admin", stdin="a long enough password\n" * 2)
    assert "staff account 1: boss@example.org (admin)" in out.stdout and "set-password" not in out.stdout
    out = run("staff", "add", "ops@example.org", "--role", "operator", "--link")
    assert "https://news.example.com/admin/set-password/" in out.stdout
    short = run("staff", "add", "v@example.org", "--role", "viewer", stdin="short\nshort\n", ok=False)
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    assert run("staff", "add", "x@example.org", "--role", "root", "--link", ok=False).returncode == 2
    assert run("staff", "list").stdout.splitlines()[1].split("\t")[:4] == ["2", "ops@example.org", "operator",
                                                                           "active"]
    out = run("tokens", "create", "--account", "ops@example.org", "--name", "deploy")
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("nlt_") and "operator" in out.stdout
    assert run("tokens", "create", "--account", "ops@example.org", "--name", "x", "--role", "admin",
               ok=False).returncode == 2
    listed = run("tokens", "list").stdout
    assert "deploy" in listed and token not in listed
    run("tokens", "revoke", "1")
    revoked_at = run("tokens", "list").stdout.strip().split("\t")[-1]
    assert revoked_at.startswith("20")
    assert run("staff", "disable", "boss@example.org", ok=False).returncode == 2  # the last admin
    run("staff", "disable", "ops@example.org")
    actions = [json.loads(line)["action"] for line in run("audit", "list").stdout.splitlines()]
    assert actions[:3] == ["staff.disable", "token.revoke", "token.create"]
    exported = list(csv.reader(io.StringIO(run("audit", "export").stdout)))
    assert exported[0][0] == "id" and len(exported) == len(actions) + 1
    # Per-publication roles, single sign-on only accounts, the second factor's rules.
    run("publications", "load")
    out = run("staff", "add", "desk@example.org", "--role", "admin", "--sso-only", "--publication", "spacewar-daily")
    assert "(admin, spacewar-daily)" in out.stdout and "set-password" not in out.stdout
    desk = next(line.split("\t") for line in run("staff", "list").stdout.splitlines() if "desk@" in line)
    assert desk[2:4] == ["admin", "active"] and desk[5:] == ["spacewar-daily", "sso"]
    assert "every publication" in run("staff", "publications", "desk@example.org").stdout
    assert run("staff", "publications", "desk@example.org", "nope", ok=False).returncode == 2
    assert "admins" in run("staff", "require-2fa", "admins").stdout
    assert run("staff", "require-2fa", "sometimes", ok=False).returncode == 2
    assert "no second factor" in run("staff", "reset-2fa", "ops@example.org").stdout


def test_subscriber_list_commands(run, tmp_path):
    run("publications", "load")
    (tmp_path / "list.csv").write_text("email,name,sections\nann@example.org,Ann,superpowers\n"
                                       "bob@example.org,@Bob,\nann@example.org,Again,\n")
    out = run("subscribers", "import", "spacewar-daily", str(tmp_path / "list.csv"))
    assert "2 added" in out.stdout and "1 duplicate rows" in out.stdout
    lines = run("subscribers", "list").stdout.splitlines()
    assert [line.split("\t")[1] for line in lines] == ["bob@example.org", "ann@example.org"]
    assert run("subscribers", "list", "--q", "an", "--json").stdout.count("\n") == 1
    assert run("subscribers", "list", "--status", "zzz", ok=False).returncode == 2
    # A time's offset is honoured (as on the console and the API): an hour ago, written at +05:00.
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=5)))
    assert run("subscribers", "list", "--created-from", hour_ago.isoformat()).stdout.count("\n") == 2
    shown = json.loads(run("subscribers", "show", "ann@example.org").stdout)
    assert shown["subscriptions"][0]["sections"] == ["superpowers"] and shown["events"][0]["method"] == "admin"
    assert run("subscribers", "show", "nobody@example.org", ok=False).returncode == 2
    rows = list(csv.reader(io.StringIO(run("subscribers", "export", "--publication", "spacewar-daily").stdout)))
    assert rows[0][:4] == ["email", "name", "sections", "timezone"] and rows[2][1] == "'@Bob"
    person = json.loads(run("subscribers", "export", "--person", "1").stdout)
    assert person["subscriber"]["email"] == "ann@example.org"
    assert "is disabled" in run("subscribers", "disable", "bob@example.org").stdout
    assert "is active" in run("subscribers", "enable", "2").stdout

    out = run("suppressions", "add", "eve@example.org", "--reason", "asked by phone")
    assert "suppression 1" in out.stdout
    assert run("suppressions", "add", "eve@example.org", "--reason", "again", ok=False).returncode == 2
    assert "asked by phone" in run("suppressions", "list").stdout
    assert run("suppressions", "remove", "1", ok=False).returncode == 2  # --reason is required
    run("suppressions", "remove", "1", "--reason", "a mistake")

    assert run("subscribers", "erase", "ann@example.org", stdin="n\n", ok=False).returncode == 2
    out = run("subscribers", "erase", "ann@example.org", "--yes")
    assert "erased subscriber 1" in out.stdout
    listed = run("suppressions", "list", "--q", "ann@example.org").stdout
    assert "erased" in listed and "ann@example.org" not in listed
    again = run("subscribers", "add", "spacewar-daily", "ann@example.org", ok=False)
    assert again.returncode == 2 and "erased" in again.stderr
