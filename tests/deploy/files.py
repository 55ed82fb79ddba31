"""Readers for the files in deploy/: what they run, which settings they name.

The deploy tests compare these against the real CLI (the Typer app) and the
real `Settings`, so a renamed command, option or setting breaks CI instead of
a state's production install.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from configparser import ConfigParser
from pathlib import Path

import typer.main
import yaml

from credx.cli import app
from kernel.settings import describe_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("credx-*.*"))
# The deployment guide and the runbook live in the manual; deploy/ keeps pointers.
DOCS = [ROOT / "docs" / "operator" / "deployment.md", ROOT / "docs" / "operator" / "runbook.md"]
SETTING = re.compile(r"\bCREDX_[A-Z0-9_]+\b")
# Read by kernel.settings itself (which file to read), not a field of Settings.
SETTINGS_OUTSIDE_THE_MODEL = {"CREDX_CONFIG"}


def known_settings() -> set[str]:
    return {name for name, _, _ in describe_settings()} | SETTINGS_OUTSIDE_THE_MODEL


def deploy_text_files() -> list[Path]:
    """Every text file operators copy or read: compose, units, env, proxy, image, docs."""
    names = ["compose.yaml", "credx.env.example", "Dockerfile", "blobstore-init.sh"]
    return [DEPLOY / n for n in names] + UNITS + [DEPLOY / "proxy" / "nginx.conf"] + DOCS


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def credx_services(spec: dict) -> dict[str, dict]:
    """Services that run the credx image (built from deploy/Dockerfile)."""
    return {
        name: service
        for name, service in spec["services"].items()
        if str(service.get("image", "")).startswith("credx:")
    }


def unit(path: Path) -> ConfigParser:
    """A systemd unit as INI; repeated keys (SystemCallFilter=...) keep the last value."""
    parser = ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read_string(path.read_text())
    return parser


def dockerfile_lines() -> list[str]:
    """Instructions with continuation lines joined and comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text()
    text = re.sub(r"^\s*#.*\n", "", text, flags=re.MULTILINE).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()]


def dockerfile_stages() -> list[list[str]]:
    stages: list[list[str]] = []
    for line in dockerfile_lines():
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def _exec_form(stage: list[str], instruction: str) -> list[str]:
    found = [line for line in stage if line.upper().startswith(instruction + " ")]
    return json.loads(found[-1].split(" ", 1)[1]) if found else []


def credx_invocations() -> Iterator[tuple[str, list[str]]]:
    """(where, argv after `credx`) for every credx command the deploy files run."""
    for name, service in credx_services(compose()).items():
        yield f"compose.yaml service {name}", list(service["command"])
    final = dockerfile_stages()[-1]
    entrypoint, cmd = _exec_form(final, "ENTRYPOINT"), _exec_form(final, "CMD")
    assert entrypoint == ["credx"], entrypoint
    yield "Dockerfile CMD", cmd
    for path in UNITS:
        for key, value in unit(path).items("Service") if path.suffix == ".service" else []:
            if key.startswith("ExecStart"):
                argv = shlex.split(value)
                assert argv[0].endswith("/credx"), f"{path.name}: {value}"
                yield f"{path.name} {key}", argv[1:]


def documented_commands() -> Iterator[tuple[str, list[str]]]:
    """`credx SUB [SUB] ...` in the code of the deployment guide and the runbook.

    Only code (fenced blocks without their comments, and `inline` spans) is
    read: that is what an operator copies into a shell.
    """
    for path in DOCS:
        text = path.read_text()
        fenced = re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
        code = [re.sub(r"(^|\s)#.*$", "", block, flags=re.MULTILINE) for block in fenced]
        code += re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text,
                                                  flags=re.DOTALL | re.MULTILINE))
        for snippet in code:
            for match in re.finditer(r"(?<![^\s/(])credx((?: [a-z][\w-]*)+)", snippet):
                yield path.name, match.group(1).split()


def cli():
    return typer.main.get_command(app)


def resolve(argv: list[str], *, check_options: bool = True) -> list[str]:
    """Problems with running `credx ARGV` against the real CLI; empty when it would parse."""
    command = cli()
    words = list(argv)
    while hasattr(command, "commands"):  # a group (typer may vendor its own click)
        if not words or words[0].startswith("-"):
            return [f"credx {' '.join(argv)}: names no command"]
        name = words.pop(0)
        # through get_command: the top-level group imports a command's module when asked
        sub = command.get_command(command.context_class(command, info_name=name), name)
        if sub is None:
            return [f"credx {' '.join(argv)}: no command {name!r}"]
        command = sub
    if not check_options:
        return []
    options = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    wanted = [word.split("=", 1)[0] for word in words if word.startswith("--")]
    return [f"credx {' '.join(argv)}: no option {opt}" for opt in wanted if opt not in options]
