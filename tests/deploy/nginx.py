"""Run deploy/proxy/nginx.conf in a real nginx on loopback (Debian package nginx-light).

The shipped file is rewritten only where a test machine differs from the
compose network: loopback ports instead of 80/443, a self-signed certificate,
a local upstream, temp paths in a private directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.deploy.files import DEPLOY

NGINX = "/usr/sbin/nginx"


@dataclass(frozen=True)
class Proxy:
    http_port: int
    https_port: int
    upstream_port: int
    cert: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(directory: Path) -> Path:
    """fullchain.pem and privkey.pem for CN=localhost in DIRECTORY; returns the cert path."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory / "fullchain.pem"


def site_config(directory: Path, proxy: Proxy, *, protocols: str | None = None) -> str:
    """The shipped server blocks, moved to loopback ports (and other TLS protocols if given)."""
    text = (DEPLOY / "proxy" / "nginx.conf").read_text()
    text = text.replace("/etc/nginx/certs/", f"{proxy.cert.parent}/")
    text = text.replace("server web:8000;", f"server 127.0.0.1:{proxy.upstream_port};")
    text = text.replace("listen [::]:80 default_server;", "")
    text = text.replace("listen [::]:443 ssl http2 default_server;", "")
    text = text.replace("listen 80 ", f"listen 127.0.0.1:{proxy.http_port} ")
    text = text.replace("listen 443 ", f"listen 127.0.0.1:{proxy.https_port} ")
    if protocols is not None:  # a control: the same file with old protocols let in
        text = text.replace("ssl_protocols TLSv1.2 TLSv1.3;", f"ssl_protocols {protocols};")
        text = re.sub(r"ssl_ciphers [^;]+;", "ssl_ciphers ALL:@SECLEVEL=0;", text)
    return text


def main_config(directory: Path, site: str) -> Path:
    (directory / "site.conf").write_text(site)
    temp = {k: directory / k for k in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(
        f"""daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {directory}/site.conf;
}}
"""
    )
    return config


def check_config(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-p", str(config.parent), "-c", str(config)],
        capture_output=True, text=True, timeout=30,
    )


@contextlib.contextmanager
def running(directory: Path, *, protocols: str | None = None) -> Iterator[Proxy]:
    """nginx serving the shipped config on loopback until the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    proxy = Proxy(free_port(), free_port(), free_port(), self_signed(directory))
    config = main_config(directory, site_config(directory, proxy, protocols=protocols))
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait_for(proxy.https_port, process)
        yield proxy
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stderr.read().decode()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nginx did not listen on {port}")
