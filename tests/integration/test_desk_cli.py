"""Issue 20, item 1, on the command line: curate an edition before the send (drop, pin,
edit, add from the store, move), see the changes in `editions show|changes`, keep them
through a rebuild, see them in `preview --diff`; the email carries the curated edition;
after the send only a takedown, which says the email cannot be recalled; bad input is
one line and exit 2."""
from __future__ import annotations

from datetime import timedelta

from tests.command_line import one_line_on_stderr, query
from tests.helpers import at, feed

DAY = at("2026-11-26T09:00:00")


def test_curate_on_the_command_line_then_send_and_take_down(run, tmp_path):
    run("publications", "load")
    run("ingest", feed(tmp_path, [("Alpha story", "SUPERPOWERS", DAY + timedelta(hours=1)),
                                  ("Beta story", "SUPERPOWERS", DAY), ("Gamma story", "DRONE WAR", DAY)]))
    run("subscribers", "add", "spacewar-daily", "ann@example.org")
    assert "3 headlines" in run("build", "spacewar-daily", "--date", "2026-11-26").stdout
    run("ingest", feed(tmp_path, [("Late story", "MISSILE DEFENSE", at("2026-11-28T09:00:00"))], "late.xml"))
    late = query(tmp_path, "SELECT id FROM articles WHERE headline = 'Late story'")[0][0]

    assert "dropped" in run("editions", "drop", "1", "1").stdout  # Alpha (newest first in its section)
    run("editions", "pin", "1", "2", "--edition")  # Gamma, the lead of the edition
    run("editions", "edit", "1", "2", "--headline", "Beta, better told")
    assert "added to missile-defense: Late story" in run("editions", "add", "1", "--article", str(late)).stdout
    out = run("editions", "show", "1").stdout
    assert "1. Gamma story" in out and "2. Beta, better told" in out and "Alpha story" not in out, out
    assert "the editors' changes (4" in out
    changes = run("editions", "changes", "1").stdout
    assert "change 1: dropped: Alpha story" in changes and "change 2: pinned as the lead of the edition" in changes

    out = run("editions", "rebuild", "1").stdout
    assert "the editors' changes kept: 4" in out and "as read has 3 headlines" in out
    out = run("preview", "spacewar-daily", "--date", "2026-11-26", "--diff").stdout
    assert "the editors' changes (4), against the selection:" in out
    assert "  + [missile-defense] Late story" in out and "  - [superpowers] Alpha story" in out
    assert "  * edited: Beta, better told" in out

    for args, said in ((("editions", "drop", "1", "9"), "edition 1 has no item '9'"),
                       (("editions", "move", "1", "1", "--section", "nowhere"), "no section 'nowhere'"),
                       (("editions", "takedown", "1", "1"), "has not been sent: drop the item instead")):
        out = run(*args, ok=False)
        assert out.returncode == 2 and said in one_line_on_stderr(out), out.stderr
    run("send", "spacewar-daily", "--date", "2026-11-26")
    (mail,) = (tmp_path / "var" / "outbox").glob("*.eml")
    body = mail.read_text(errors="replace")
    assert "Subject: Gamma story" in body and "Beta, better told" in body and "Late story" in body
    assert "Alpha story" not in body

    out = run("editions", "drop", "1", "1", ok=False)
    assert out.returncode == 2 and "is sent: its contents can change only before sending starts" in \
        one_line_on_stderr(out)
    out = run("editions", "takedown", "1", "2").stdout
    assert "taken down from edition 1: Beta, better told" in out and "cannot be recalled" in out
    assert "Beta" not in run("editions", "show", "1").stdout
    assert query(tmp_path, "SELECT action FROM audit_log WHERE action LIKE 'edition.%' ORDER BY id") == [
        ("edition.curate.drop",), ("edition.curate.pin",), ("edition.curate.edit",), ("edition.curate.add",),
        ("edition.rebuild",), ("edition.takedown",)]
