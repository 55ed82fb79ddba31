"""Run `credx` as operators do, but in this process: `credx.cli.main` with the command line,
the environment overrides, the exit code, stdout and stderr the console script would give
(1 and the message on a user-facing error), and main's umask only while it runs.

A subprocess costs seconds of imports per command; `credx_process` is for the few tests
that need a real process (the console script itself, signals, `serve`, `worker`, the demo).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from typer.testing import CliRunner

from credx.cli import main

CREDX = [sys.executable, "-c", "from credx.cli import main; main()"]


@dataclass
class Ran:
    """What a finished `credx` gave: the fields of `subprocess.CompletedProcess` tests read."""

    returncode: int
    stdout: str
    stderr: str


def credx(*args: str, env: Mapping[str, str], check: int | None = 0) -> Ran:
    """`credx ARGS` in-process; asserts the exit code is `check` unless that is None."""
    umask = os.umask(0o077)
    os.umask(umask)
    try:
        with CliRunner().isolation(env=dict(env)) as (stdout, stderr, _):
            returncode = _exit_code(list(args))
            sys.stdout.flush()
            sys.stderr.flush()
            ran = Ran(returncode, stdout.getvalue().decode(), stderr.getvalue().decode())
    finally:
        os.umask(umask)  # main() sets the process's umask for the files it writes
    if check is not None:
        assert ran.returncode == check, ran.stderr + ran.stdout
    return ran


def _exit_code(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)  # as the interpreter does with a non-int exit
        return 1
    return 0


def credx_process(
    *args: str, env: Mapping[str, str], check: int | None = 0, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`credx ARGS` in a fresh interpreter, for tests that need a real process."""
    result = subprocess.run(
        [*CREDX, *args], env={**os.environ, **env}, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if check is not None:
        assert result.returncode == check, result.stderr + result.stdout
    return result
