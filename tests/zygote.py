"""Real `credx` processes without paying for their imports: a zygote that has imported the
CLI and the worker's modules once, and forks a child per command.

Tests that SIGKILL a worker need a real process, but a fresh interpreter spends about 3 s
importing pandas, pyarrow and pandera before it does any work.  Under load most random kill
times then landed inside the imports, not in the pull being tested.  A child forked from the
zygote starts working at once, is a process of its own (its own pid, memory and database
connections) and dies by SIGKILL like any other.

The zygote reads one JSON request per line on stdin (`{"args": [...], "env": {...}}`), forks,
and writes `{"pid": N}` when the child starts and `{"pid": N, "exit": CODE}` when it ends
(CODE is negative for a signal).  One child runs at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time

PRELOAD = ("credx.cli", "credx.cli.worker", "credx.jobs", "exchange.ingest", "exchange.pulls")


class Zygote:
    """The test side: start commands in forked children, wait for them, kill them."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self._buffer = b""
        assert self._line(timeout=120) == {"ready": True}

    def start(self, args: list[str], env: dict[str, str]) -> int:
        """Fork a child running `credx ARGS` with exactly `env`; its pid."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"args": args, "env": env}).encode() + b"\n")
        self.process.stdin.flush()
        started = self._line(timeout=30)
        assert started is not None, "the zygote did not fork"
        return int(started["pid"])

    def wait(self, timeout: float) -> int | None:
        """The child's exit code (negative: killed by that signal), or None if still running."""
        ended = self._line(timeout)
        return None if ended is None else int(ended["exit"])

    def kill(self, pid: int) -> int:
        """SIGKILL the running child and reap it; its exit code (-9, or its own if it won)."""
        with contextlib.suppress(ProcessLookupError):  # it ended on its own a moment ago
            os.kill(pid, signal.SIGKILL)
        code = self.wait(timeout=60)
        assert code is not None, "a killed child was not reaped"
        return code

    def run(self, args: list[str], env: dict[str, str], timeout: float = 120) -> int:
        """Run to the end; the exit code."""
        self.start(args, env)
        code = self.wait(timeout)
        assert code is not None, f"credx {' '.join(args)} ran over {timeout} s"
        return code

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def _line(self, timeout: float) -> dict | None:
        """The next line the zygote wrote, or None if none came within `timeout`."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError("the zygote exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)


def _child(args: list[str], env: dict[str, str]) -> None:
    """In the forked child: the environment, no inherited output, `credx ARGS`, exit."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.environ.clear()
    os.environ.update(env)
    from credx.cli import main

    code = 0
    try:
        main(args)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        code = 1
    os._exit(code)


def _serve() -> None:
    for module in PRELOAD:
        __import__(module)
    out = sys.stdout.buffer

    def say(message: dict) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    say({"ready": True})
    for line in sys.stdin.buffer:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request["args"], request["env"])
        say({"pid": pid})
        _, status = os.waitpid(pid, 0)
        say({"pid": pid, "exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    _serve()
