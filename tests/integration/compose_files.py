"""Reading the deployment files without a Docker engine: docker-compose.yml (with Compose's
${...} interpolation), the Dockerfile's stages and instructions, and .dockerignore with
the matching rules of Docker's build context (moby/patternmatcher)."""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field

import yaml

from tests.integration.servers import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # `<<: *app` merges are resolved here


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def env_file(path) -> dict[str, str]:
    """KEY=VALUE lines of an env file; comments and blank lines skipped."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?error}, ${VAR?error}, and $$ for a literal dollar."""
    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        present = name in variables
        empty = not variables.get(name)
        if operator in (":-", "-"):
            use_default = empty if operator == ":-" else not present
            return argument if use_default else variables[name]
        if operator in (":?", "?"):
            if empty if operator == ":?" else not present:
                raise KeyError(f"{name}: {argument}")
        return variables.get(name, "")

    return _VARIABLE.sub(substitute, value)


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)


def dockerfile_stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, with continuation lines joined and ARG defaults applied
    to FROM lines."""
    joined = re.sub(r"\\\n", " ", text)
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), re.sub(r"\s+", " ", rest.strip())
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif instruction == "FROM":
            parts = rest.split()
            base = interpolate(parts[0], args)
            stages.append(Stage(base, parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""))
        else:
            stages[-1].instructions.append((instruction, rest))
    return stages


@dataclass
class IgnoreRule:
    regex: re.Pattern
    exclusion: bool  # a `!pattern`: lets back in what an earlier rule left out


def _pattern_regex(pattern: str) -> re.Pattern:
    """moby/patternmatcher: `*` and `?` stop at `/`, `**` crosses directories, `**/`
    matches zero or more of them, `[...]` is a character class, `\\` escapes."""
    out, i = "^", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*" and pattern[i + 1:i + 2] == "*":
            i += 1
            if pattern[i + 1:i + 2] == "/":
                i += 1
            out += ".*" if i + 1 == len(pattern) else "(.*/)?"
        elif c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.index("]", i)
            out += "[" + pattern[i + 1:end].replace("\\", "\\\\") + "]"
            i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + "$")


def dockerignore_rules(text: str) -> list[IgnoreRule]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        pattern = os.path.normpath(line[1:].strip() if exclusion else line).lstrip("/")
        rules.append(IgnoreRule(_pattern_regex(pattern), exclusion))
    return rules


def ignored(rules: list[IgnoreRule], path: str) -> bool:
    """Whether a path (relative to the context, with /) stays out of the build context:
    the last rule matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for rule in rules:
        if any(rule.regex.match(candidate) for candidate in candidates):
            result = not rule.exclusion
    return result
