"""`credx demo`"""

from __future__ import annotations

from typing import Annotated

import typer

from credx.cli.common import JsonFlag, console, print_json
from credx.demo import run_demo
from kernel.settings import load_settings


def demo(
    rows: Annotated[int, typer.Option(help="Rows per vendor file", min=10, max=1_000_000)] = 2000,
    seed: Annotated[int, typer.Option(help="Seed for the generated data")] = 2026,
    json_output: JsonFlag = False,
) -> None:
    """Run the whole product on demo data in CREDX_HOME (default ./var)."""
    summary = run_demo(
        load_settings(), rows=rows, seed=seed, say=None if json_output else console.print
    )
    if json_output:
        print_json(summary)
