"""A real OpenSSH sshd on 127.0.0.1 for SFTP tests and the SFTP benchmark.

The server runs as the current user (root in CI) from a throwaway directory:
its own host key, an authorized_keys file holding freshly generated client
keys (Ed25519, and RSA for the test that needs one), password login off, and
the in-process `internal-sftp` subsystem so no system configuration is read or
changed.  `/usr/sbin/sshd` comes from Debian's `openssh-server` package; CI
installs it (`apt-get install -y openssh-server`).

Used by `tests/exchange/test_sftp.py` (through a fixture) and by
`bench/sftp.py`, so both measure against the same kind of server.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without its privilege-separation dir
START_TIMEOUT = 10.0


def generate_key(path: Path, kind: str = "ed25519") -> Path:
    """A passphrase-less private key at `path` (public half at `path`.pub)."""
    bits = ["-b", "3072"] if kind == "rsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *bits, "-N", "", "-C", f"credx-test-{kind}", "-f", path],
        check=True,
    )
    return path


def fingerprint_of(public_key: Path) -> str:
    """The key's `SHA256:...` fingerprint exactly as `ssh-keygen -lf` prints it."""
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", public_key],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.split()[1]


def free_port() -> int:
    """A currently unused high TCP port on 127.0.0.1 (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(workdir: Path, port: int, user: str, host_key: Path, authorized: Path) -> str:
    return "\n".join(
        [
            "ListenAddress 127.0.0.1",
            f"Port {port}",
            f"HostKey {host_key}",
            f"AuthorizedKeysFile {authorized}",
            f"PidFile {workdir / 'sshd.pid'}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "StrictModes no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            f"AllowUsers {user}",
            "Subsystem sftp internal-sftp",
            "LogLevel ERROR",
            "",
        ]
    )


@dataclass
class Sshd:
    """A running sshd and everything a client needs to reach it."""

    host: str
    port: int
    user: str
    workdir: Path
    ed25519_key: Path
    rsa_key: Path
    host_key_fingerprint: str
    files: Path  # a directory the tests and benchmark write vendor files into
    process: subprocess.Popen | None = field(default=None, repr=False)

    def session_pids(self) -> list[int]:
        """The per-connection sshd children (pre-auth and session processes)."""
        if self.process is None:
            return []
        return _descendants(self.process.pid)

    def drop_sessions(self) -> list[int]:
        """Kill every live connection (SIGKILL), as a crashing server would; keep listening."""
        pids = self.session_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it may have exited meanwhile
                os.kill(pid, signal.SIGKILL)
        return pids

    def stop(self) -> None:
        """Stop the listener and every connection it spawned."""
        if self.process is None:
            return
        self.drop_sessions()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _descendants(root: int) -> list[int]:
    """All processes below `root`, from /proc (no psutil needed)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after it
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _wait_for_port(host: str, port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"sshd did not accept connections on {host}:{port}")


def prepare(workdir: Path) -> Sshd:
    """Keys, authorized_keys and a files directory under `workdir`; not yet started."""
    if not SSHD.exists():
        raise RuntimeError(f"{SSHD} is missing: apt-get install -y openssh-server")
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = generate_key(workdir / "ssh_host_ed25519_key")
    ed25519 = generate_key(workdir / "client_ed25519")
    rsa = generate_key(workdir / "client_rsa", kind="rsa")
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{ed25519}.pub").read_text() + Path(f"{rsa}.pub").read_text())
    files = workdir / "files"
    files.mkdir(exist_ok=True)
    return Sshd(
        host="127.0.0.1", port=free_port(), user=getpass.getuser(), workdir=workdir,
        ed25519_key=ed25519, rsa_key=rsa, files=files,
        host_key_fingerprint=fingerprint_of(Path(f"{host_key}.pub")),
    )  # fmt: skip


def start(server: Sshd) -> Sshd:
    """Start `server`'s sshd (again, after `.stop()`) and wait until it accepts connections."""
    PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    config = server.workdir / "sshd_config"
    host_key, authorized = (
        server.workdir / "ssh_host_ed25519_key",
        server.workdir / "authorized_keys",
    )
    text = _config(server.workdir, server.port, server.user, host_key, authorized)
    rsa_host_key = server.workdir / "ssh_host_rsa_key"  # a second host key, where one was made
    if rsa_host_key.exists():
        text += f"HostKey {rsa_host_key}\n"
    config.write_text(text)
    log = server.workdir / "sshd.log"  # a file, not a pipe: nobody drains a pipe mid-test
    with log.open("a") as stderr:
        server.process = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stderr=stderr)
    _wait_for_port(server.host, server.port, server.process, log)
    return server


def start_sshd(workdir: Path) -> Sshd:
    """Generate keys and configuration in `workdir` and start sshd; call `.stop()` after."""
    return start(prepare(workdir))


def start_sshd_with_two_host_keys(workdir: Path) -> tuple[Sshd, str]:
    """An sshd offering an Ed25519 and an RSA host key (as many vendors' servers do);
    returns it and the RSA key's fingerprint (`host_key_fingerprint` is the Ed25519 one)."""
    server = prepare(workdir)
    rsa = generate_key(workdir / "ssh_host_rsa_key", kind="rsa")
    return start(server), fingerprint_of(Path(f"{rsa}.pub"))
