"""The command line as tests run it: `newsletter ...` with its own settings (environment
variables, as an operator sets them), answering like a process does (exit code, stdout,
stderr), whatever went wrong.

Most commands run in this process, through `newsletter.cli.main.main` under Click's test
isolation (its own environment, stdin, stdout and stderr): the same code path as the
installed command, error handling included, without a Python start-up and imports per
command. A command that must be a process of its own runs in a subprocess: one that
serves or runs workers (`web`, `run`, `demo`), one that configures logging for the whole
process (`migrate`), and any call with `own_process=True` (a test of the real process:
its signals, its start-up, or a process other than the test's). `start` runs one in the
background (a server; processes racing each other): this module is the one place tests
start `newsletter` as a process.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

OWN_PROCESS = frozenset({"web", "run", "demo", "migrate"})


class CommandLine:
    def __init__(self, cwd: Path, env: dict[str, str]):
        self.cwd, self.env = cwd, env

    @classmethod
    def in_folder(cls, tmp_path: Path) -> CommandLine:
        """Settings of a fresh install in `tmp_path`: SQLite under var/, a known secret."""
        return cls(tmp_path, {"NEWSLETTER_VAR_DIR": str(tmp_path / "var"), "NEWSLETTER_SECRET_KEY": "cli-test",
                              "NEWSLETTER_WEB_BASE_URL": "https://news.example.com", "COLUMNS": "200"})

    @classmethod
    def for_settings(cls, settings, **env: str) -> CommandLine:
        """The command line of the install a test's `settings` describe (its database, var
        folder, secret and web address), in the folder above var/."""
        own = {"NEWSLETTER_DATABASE_URL": settings.effective_database_url, "NEWSLETTER_VAR_DIR": str(settings.var_dir),
               "NEWSLETTER_SECRET_KEY": settings.secret_key,
               "NEWSLETTER_WEB_BASE_URL": settings.web_base_url, "COLUMNS": "200"}
        return cls(Path(settings.var_dir).parent, {**own, **env})

    def using(self, **env: str) -> CommandLine:
        """The same, with these settings changed (a value of None: unset)."""
        return CommandLine(self.cwd, {**self.env, **env})

    def __call__(self, *args: str, ok: bool = True, code: int | None = None, stdin: str | None = None,
                 own_process: bool = False, **extra_env: str) -> subprocess.CompletedProcess:
        """`ok`: the exit code must be 0 (`code`: must be that one); with ok=False it is the caller's."""
        env = {**self.env, **extra_env}
        if own_process or (args and args[0] in OWN_PROCESS):
            out = _in_subprocess(args, env, stdin, self.cwd)
        else:
            out = _in_process(args, env, stdin, self.cwd)
        if code is not None:
            assert out.returncode == code, out.stdout + out.stderr
        elif ok:
            assert out.returncode == 0, out.stderr
        return out

    def attempt(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        """A command expected to fail (or not): its answer, unchecked."""
        return self(*args, ok=False, **kwargs)

    def start(self, *args: str, **popen) -> subprocess.Popen:
        """`newsletter ...` started in the background, as a process of its own (`stdout`,
        `stderr`... as for Popen; the output is discarded unless given): the caller waits
        for it or stops it."""
        popen.setdefault("stdout", subprocess.DEVNULL)
        popen.setdefault("stderr", subprocess.DEVNULL)
        return subprocess.Popen(_argv(args), env=_process_env(self.env), cwd=self.cwd, **popen)


def _argv(args) -> list[str]:
    return [sys.executable, "-m", "newsletter.cli", *args]


def _process_env(env: dict[str, str | None]) -> dict[str, str]:
    """The test's environment without its NEWSLETTER_ settings, then these ones."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    clean.update({k: v for k, v in env.items() if v is not None})
    return clean


def _in_subprocess(args, env, stdin, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(_argv(args), env=_process_env(env), input=stdin, capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def _in_process(args, env, stdin, cwd) -> subprocess.CompletedProcess:
    from newsletter.cli.main import main
    from newsletter.config import get_settings

    # Only these settings: none from the environment pytest runs in.
    isolated = {k: None for k in os.environ if k.startswith("NEWSLETTER_")} | env
    runner = CliRunner()
    here = Path.cwd()
    get_settings.cache_clear()
    try:
        os.chdir(cwd)
        with runner.isolation(input=stdin, env=isolated) as (stdout, stderr, _):
            try:
                main(list(args))
                returncode = 0
            except SystemExit as exc:
                returncode = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            sys.stdout.flush()  # what print() wrote is still in the wrapper's buffer
            sys.stderr.flush()
            out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    finally:
        os.chdir(here)
        get_settings.cache_clear()  # the next test's settings are its own
    return subprocess.CompletedProcess(["newsletter", *args], returncode, out, err)


def query(tmp_path, sql: str, *params):
    """Rows of the SQLite database of the fresh install in `tmp_path` (CommandLine.in_folder)."""
    with sqlite3.connect(tmp_path / "var" / "newsletter.sqlite3") as db:
        return db.execute(sql, params).fetchall()


def one_line_on_stderr(out) -> str:
    """A refusal as the command line must give it: one line on stderr, no traceback, no
    terminal control characters; that line."""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert not any(c in out.stderr for c in "\x1b\x07"), out.stderr
    return lines[0]
