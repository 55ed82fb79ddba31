"""Entry point for uvicorn worker processes: settings from the environment, as the CLI."""

from fastapi import FastAPI

from credx.app import open_app
from kernel.settings import load_settings
from web.app import create_app


def application() -> FastAPI:
    from exchange.evidence.sandbox import warm_up

    warm_up()  # the decoders' fork server, before the first upload
    return create_app(open_app(load_settings()))
