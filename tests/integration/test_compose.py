"""docker-compose.yml, the Dockerfile and .dockerignore, proved without a Docker engine:
the compose file is valid Compose, every command it runs exists in the image, the build
context keeps local state and secrets out, and the processes it starts (migrate, web,
worker, beat), run from their own `command:` lines against the local PostgreSQL, Redis
and an SMTP server, come up and pass their own healthchecks."""
from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema

from newsletter.config import Settings
from tests.integration.compose_files import (
    SCHEMA_FILE,
    compose,
    dockerfile_stages,
    dockerignore_rules,
    env_file,
    ignored,
    interpolate,
    pyproject,
)
from tests.integration.servers import ROOT

APP = compose()["x-app"]["image"]
LONG_RUNNING = ("web", "worker", "beat")


def app_services() -> dict[str, dict]:
    return {name: s for name, s in compose()["services"].items() if s.get("image") == APP}


def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA_FILE.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_is_valid_against_the_compose_specification():
    assert schema_errors(compose()) == []


def test_the_schema_check_catches_mistakes():
    for path, value in [(("services", "web", "depends_on", "migrate", "condition"), "service_done"),
                        (("services", "worker", "healthcheck", "interval"), 30),
                        (("services", "web", "restart_policy"), "always")]:
        broken = copy.deepcopy(compose())
        node = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert schema_errors(broken), path


def test_the_stack_starts_in_order_on_one_image():
    services = compose()["services"]
    apps = app_services()
    assert set(apps) == {"migrate", *LONG_RUNNING}
    builders = [name for name, s in services.items() if "build" in s]
    assert builders == ["migrate"], "one image, built once, by the service every other one waits for"
    assert all(s["pull_policy"] == "never" for name, s in apps.items() if name != "migrate")
    assert apps["migrate"]["command"] == "newsletter migrate" and apps["migrate"]["restart"] == "no"
    for name in LONG_RUNNING:
        needs = services[name]["depends_on"]
        assert needs["migrate"] == {"condition": "service_completed_successfully"}
        assert needs["redis"] == {"condition": "service_healthy"}
        assert services[name]["restart"] == "unless-stopped"
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        volume, _, mount = services[name]["volumes"][0].partition(":")
        assert mount == target and volume in compose()["volumes"]
    assert "8025:8025" in services["mailpit"]["ports"][0]
    assert services["flower"]["profiles"] == ["monitoring"]


def test_secrets_come_from_the_uncommitted_env_file():
    environment = compose()["x-app"]["environment"]
    secrets = {k: v for k, v in environment.items() if re.search("SECRET|PASSWORD", k + v)}
    assert set(secrets) == {"NEWSLETTER_DATABASE_URL", "NEWSLETTER_SECRET_KEY"}
    for value in secrets.values():
        assert re.search(r"\$\{[A-Z_]+:\?", value), f"{value} must come from .env, and be required"
    assert (ROOT / "config" / "settings.example.env").exists()
    assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
    example = env_file(ROOT / "config" / "settings.example.env")
    for value in environment.values():
        interpolate(value, example)  # config/settings.example.env provides every required variable


def test_every_setting_the_stack_names_exists():
    """Settings ignore unknown variables: a misspelt one would be silently dropped."""
    names = set(compose()["x-app"]["environment"]) | set(env_file(ROOT / "config" / "settings.example.env"))
    names |= set(re.findall(r"^# (NEWSLETTER_[A-Z_]+)=", (ROOT / "config" / "settings.example.env").read_text(), re.M))
    for name in names:
        if name.startswith("NEWSLETTER_"):
            assert name.removeprefix("NEWSLETTER_").lower() in Settings.model_fields, name
    values = {k: interpolate(v, env_file(ROOT / "config" / "settings.example.env")) for k, v in
              compose()["x-app"]["environment"].items()}
    Settings(**{k.removeprefix("NEWSLETTER_").lower(): v for k, v in values.items()})  # and parse


def test_hosts_in_the_app_environment_are_services_of_the_stack():
    values = {k: interpolate(v, env_file(ROOT / "config" / "settings.example.env")) for k, v in
              compose()["x-app"]["environment"].items()}
    services = compose()["services"]
    assert re.match(r"postgresql://newsletter:[^@]+@postgres:5432/newsletter$", values["NEWSLETTER_DATABASE_URL"])
    assert values["NEWSLETTER_BROKER_URL"] == "redis://redis:6379/0"
    assert values["NEWSLETTER_SMTP_HOST"] == "mailpit" and values["NEWSLETTER_DELIVERY_BACKEND"] == "smtp"
    assert {"postgres", "redis", "mailpit"} <= set(services)


# --- the image -----------------------------------------------------------------------

def test_dockerfile_builds_dependencies_first_and_runs_unprivileged():
    stages = dockerfile_stages((ROOT / "Dockerfile").read_text())
    assert len(stages) >= 2
    build, runtime = stages[0], stages[-1]
    steps = [f"{i} {a}" for i, a in build.instructions]
    deps = next(n for n, s in enumerate(steps) if "pip install -r requirements.txt" in s)
    first_source = next(n for n, s in enumerate(steps) if s.startswith("COPY newsletter"))
    assert steps.index("COPY pyproject.toml ./") < deps < first_source, "the dependency layer is cached"
    assert any("pip install --no-deps ." in s for s in steps[first_source:])
    runtime_steps = [f"{i} {a}" for i, a in runtime.instructions]
    assert f"COPY --from={build.name} /opt/venv /opt/venv" in runtime_steps
    assert not any(s.startswith(("COPY . ", "ADD ")) for s in runtime_steps)
    user = [a for i, a in runtime.instructions if i == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert any(i == "ENV" and "PATH=/opt/venv/bin:$PATH" in a for i, a in runtime.instructions)


def image_executables() -> set[str]:
    """What is on the image's PATH: the project's scripts and its dependencies' (all in
    /opt/venv/bin), and the virtualenv's python."""
    project = pyproject()["project"]
    names = set(project["scripts"]) | {"python", "python3"}
    for requirement in project["dependencies"]:
        dist = importlib.metadata.distribution(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
        names |= {ep.name for ep in dist.entry_points if ep.group == "console_scripts"}
    return names


def image_modules() -> set[str]:
    """The packages `pip install .` puts in the image, limited to the folders the
    Dockerfile copies, and the modules in them."""
    copied = {a.split()[0] for i, a in dockerfile_stages((ROOT / "Dockerfile").read_text())[0].instructions
              if i == "COPY"}
    listed = pyproject()["tool"]["setuptools"]["packages"]
    dirs = pyproject()["tool"]["setuptools"].get("package-dir", {})
    packages = set()
    for name in listed:  # the listed packages whose folder the Dockerfile copies
        folder = dirs.get(name, name.replace(".", "/"))
        if folder.split("/")[0] in copied and (ROOT / folder / "__init__.py").exists():
            packages.add(name)
    modules = set(packages)
    for package in packages:
        folder = dirs.get(package, package.replace(".", "/"))
        modules |= {f"{package}.{f.stem}" for f in (ROOT / folder).glob("*.py")}
    return modules


def service_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) for every command and healthcheck of a service running our image."""
    found = []
    for name, service in app_services().items():
        found.append((f"{name}.command", shlex.split(service["command"])))
        test = service.get("healthcheck", {}).get("test")
        if test:
            found.append((f"{name}.healthcheck", test[1:] if test[0] == "CMD" else shlex.split(test[1])))
    return found


def test_every_service_command_exists_in_the_image():
    executables, modules = image_executables(), image_modules()
    assert {"newsletter", "celery"} <= executables and "newsletter.workers.health" in modules
    bin_dir = Path(sys.executable).parent
    for where, argv in service_commands():
        assert argv[0] in executables, f"{where}: {argv[0]} is not in the image"
        if argv[0] == "celery":
            assert argv[argv.index("-A") + 1] in modules, where
        if argv[:2] == ["python", "-c"]:
            compile(argv[2], where, "exec")
            continue
        if argv[:2] == ["python", "-m"]:
            assert argv[2] in modules, f"{where}: no module {argv[2]} in the image"
        # The arguments parse: every subcommand and option exists (--help stops before running).
        done = subprocess.run([str(bin_dir / argv[0]), *argv[1:], "--help"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, env=_clean_env())
        assert done.returncode == 0, f"{where}: {shlex.join(argv)}\n{done.stdout}{done.stderr}"


def test_the_command_check_can_fail():
    bin_dir = Path(sys.executable).parent
    done = subprocess.run([str(bin_dir / "newsletter"), "migrat", "--help"], capture_output=True, timeout=60,
                          env=_clean_env())
    assert done.returncode != 0
    assert "nosuchtool" not in image_executables() and "workers.nothing" not in image_modules()


def test_dockerignore_keeps_local_state_and_secrets_out():
    rules = dockerignore_rules((ROOT / ".dockerignore").read_text())
    for path in [".venv/bin/python", ".venv", "var/newsletter.sqlite3", "var/secret_key", "var/outbox/1.eml",
                 ".env", ".env.local", ".git/HEAD", "test-output/report.xml", ".pytest_cache/v/x",
                 "newsletter/__pycache__/config.cpython-311.pyc", "newsletter/cli/__pycache__/main.pyc",
                 "tests/conftest.py", "bench/delivery.py", "newsletter.egg-info/PKG-INFO", "id_rsa"]:
        assert ignored(rules, path), f"{path} would be sent to the Docker build"
    tracked = subprocess.run(["git", "ls-files", "pyproject.toml", "newsletter", "workers"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert len(tracked) > 50
    for path in tracked:  # everything the Dockerfile copies is still there
        assert not ignored(rules, path), f"{path} is needed by the image but ignored"


def test_the_ignore_matcher_follows_docker_rules():
    rules = dockerignore_rules("*\n!src\nsrc/**/*.log\n!src/keep.log\n")
    assert ignored(rules, "secret.txt") and ignored(rules, "src/a/b/x.log") and ignored(rules, "src/x.log")
    assert not ignored(rules, "src/a/b.py") and not ignored(rules, "src/keep.log")
    assert not ignored(dockerignore_rules("var\n"), "src/var") and ignored(dockerignore_rules("**/var\n"), "src/var")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}

