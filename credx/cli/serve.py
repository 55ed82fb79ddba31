"""`credx serve`: the web app and HTTP API under uvicorn."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from credx.cli.common import app_context
from kernel.errors import InvalidInput
from kernel.logs import log_config
from kernel.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def write_log_config(settings: Settings) -> Path:
    """uvicorn's workers read logging from a file: credx's scrubbing formatter, in the
    configured format (its own access log is off: credx.http logs each request, scrubbed)."""
    path = settings.home / "tmp" / "log-config.json"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(log_config(settings.log_format)))
    return path


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    ssl_certfile: Annotated[Path | None, typer.Option("--ssl-certfile", exists=True)] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", exists=True)] = None,
    behind_proxy: Annotated[
        bool, typer.Option("--behind-proxy", help="A TLS-terminating proxy forwards to credx")
    ] = False,
    forwarded_allow_ips: Annotated[
        str, typer.Option("--forwarded-allow-ips", help="Proxy addresses trusted for X-Forwarded-*")
    ] = "127.0.0.1",
) -> None:
    """Serve the web pages and the API (/api/v1, docs at /docs).

    A non-loopback address needs TLS (--ssl-certfile/--ssl-keyfile) or
    --behind-proxy: tokens and session cookies must never cross a network in clear.
    """
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise InvalidInput("give both --ssl-certfile and --ssl-keyfile, or neither")
    if not is_loopback(host) and not ssl_certfile and not behind_proxy:
        raise InvalidInput(
            f"refusing to serve on {host} without TLS: give --ssl-certfile and --ssl-keyfile, "
            "or --behind-proxy when a TLS-terminating proxy forwards to credx"
        )
    ctx = app_context()  # fail now, not in every worker, if the database is not ready
    from web.uploads import purge_spool  # the web stack only when serving

    purge_spool(ctx.settings.home)  # before any worker: what a killed server left is orphaned
    # A fresh interpreter serves: it imports only what the web app needs, which keeps
    # each worker's memory small.
    argv = [sys.executable, "-m", "uvicorn", "credx.asgi:application", "--factory",
            "--host", host, "--port", str(port), "--workers", str(workers),
            "--no-server-header", "--log-level", "info", "--no-access-log",
            "--log-config", str(write_log_config(ctx.settings))]  # fmt: skip
    if ssl_certfile and ssl_keyfile:
        argv += ["--ssl-certfile", str(ssl_certfile), "--ssl-keyfile", str(ssl_keyfile)]
    if behind_proxy:
        argv += ["--proxy-headers", "--forwarded-allow-ips", forwarded_allow_ips]
    else:
        argv += ["--no-proxy-headers"]  # clients' X-Forwarded-* are never believed
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # noqa: S606 (a fixed argv, no shell)
