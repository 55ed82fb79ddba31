"""`credx audit ...`: sample sizes and reproducible samples (pure: no home or database needed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from audit.manifests import read_manifest
from audit.sampling import attribute_sample_size, draw
from audit.sampling.tickets import check_seed
from credx.cli.common import JsonFlag, console, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("size")
def size(
    confidence: Annotated[float, typer.Option(help="Confidence level, e.g. 0.95.")],
    tolerable: Annotated[float, typer.Option(help="Tolerable discrepancy rate, e.g. 0.05.")],
    expected: Annotated[float, typer.Option(help="Expected discrepancy rate, e.g. 0.")] = 0.0,
    population: Annotated[
        int | None,
        typer.Option(min=1, help="Items in the stratum (hypergeometric form); omit for binomial."),
    ] = None,
    minimum: Annotated[int | None, typer.Option(min=0, help="Never fewer than this.")] = None,
    maximum: Annotated[int | None, typer.Option(min=1, help="Never more than this.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Attribute-sampling sample size for one stratum (see README, "Audits")."""
    result = attribute_sample_size(
        confidence, tolerable, expected, population=population, minimum=minimum, maximum=maximum
    )
    if json_output:
        print_json(
            {
                "size": result.size,
                "allowed_deviations": result.allowed_deviations,
                "method": result.method,
                "unclamped": result.unclamped,
                "risk": result.risk,
                "reaches_confidence": result.risk <= 1 - confidence,
                "confidence": confidence,
                "tolerable": tolerable,
                "expected": expected,
                "population": population,
            }
        )
        return
    console.print(
        f"sample size {result.size} ({result.method}; supports a rate below {tolerable:.2%} at "
        f"{confidence:.0%} confidence with at most {result.allowed_deviations} discrepancies)"
    )
    if result.risk > 1 - confidence:
        console.print(
            f"  warning: even all {population} items cannot show this at {confidence:.0%} "
            f"confidence with {result.allowed_deviations} discrepancies allowed; lower --expected"
        )
    if result.size != result.unclamped:
        console.print(
            f"  (the rule gives {result.unclamped}; clamped by minimum/maximum/population)"
        )


@app.command("sample")
def sample(
    manifest: Annotated[Path, typer.Argument(help="Manifest CSV `id,stratum`.")],
    seed: Annotated[str, typer.Option(help="The public seed, exactly as published.")],
    size: Annotated[
        int, typer.Option(min=1, help="Items per stratum (the whole stratum if smaller).")
    ],
    already_drawn: Annotated[
        int,
        typer.Option(
            min=0, help="Expansion: skip the first N per stratum, drawn in earlier rounds."
        ),
    ] = 0,
    json_output: JsonFlag = False,
) -> None:
    """Draw the lowest tickets per stratum from a manifest; anyone can re-derive the result."""
    check_seed(seed)
    frozen = read_manifest(manifest)
    drawn = draw(frozen.items, seed, size, already=already_drawn)
    if json_output:
        populations = Counter(item.stratum for item in frozen.items)
        counts = Counter(t.stratum for t in drawn)
        print_json(
            {
                "seed": seed,
                "manifest_sha256": frozen.sha256,
                "items": [{"id": t.id, "stratum": t.stratum, "ticket": t.ticket} for t in drawn],
                "size": size,
                "already_drawn": already_drawn,
                "strata": [
                    {"stratum": s, "population": n, "drawn": counts[s]}
                    for s, n in sorted(populations.items())
                ],
            }
        )
        return
    table = Table("stratum", "rank", "id", "ticket")
    for t in drawn:
        table.add_row(t.stratum, str(t.rank), t.id, t.ticket)
    console.print(table)
    console.print(f"{len(drawn)} items; manifest sha256 {frozen.sha256}")
