"""`credx audit ...`: sample sizes and samples (pure), and audit plans, draws and results.

`size` and `sample` need no home or database; the plan commands are thin shells
over `audit.plans` (plans, draws, escalation, results).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from audit.manifests import read_manifest
from audit.plans import draws, escalation, plans, results
from audit.sampling import attribute_sample_size, draw
from audit.sampling.tickets import check_seed
from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.log import cli_actor
from kernel.database import session_scope
from kernel.errors import InvalidInput

app = typer.Typer(no_args_is_help=True)
plan_app = typer.Typer(no_args_is_help=True)
cycle_app = typer.Typer(no_args_is_help=True)
app.add_typer(plan_app, name="plan", help="Audit plans: population, strata and sample rule.")
app.add_typer(cycle_app, name="cycle", help="Audit cycles: close one and apply escalation.")

PlanArg = Annotated[str, typer.Argument(metavar="PLAN", help="The plan's name.")]
SeedOption = Annotated[str, typer.Option(help="The public seed, exactly as published.")]


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
    """Attribute-sampling sample size for one stratum (see the manual, "The audit sampler")."""
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


@plan_app.command("create")
def plan_create(
    name: Annotated[str, typer.Argument(help="A name for the plan, e.g. la-2025-26.")],
    state: Annotated[str, typer.Option(help="Two-letter state code.")],
    year: Annotated[str, typer.Option(help="School year of the uploads, e.g. 2025-26.")],
    fixed_count: Annotated[
        int | None, typer.Option(min=1, help="A pre-determined number per school.")
    ] = None,
    confidence: Annotated[
        float, typer.Option(help="Confidence for sizes and for the results' upper bounds.")
    ] = 0.95,
    tolerable: Annotated[
        float | None, typer.Option(help="Tolerable discrepancy rate (attribute sampling).")
    ] = None,
    expected: Annotated[float, typer.Option(help="Expected discrepancy rate.")] = 0.0,
    minimum: Annotated[int | None, typer.Option("--min", min=0, help="Never fewer.")] = None,
    maximum: Annotated[int | None, typer.Option("--max", min=1, help="Never more.")] = None,
    uncorroborated_rate: Annotated[
        str,
        typer.Option(
            help="Uncorroborated uploads (own stratum per school): full, same, or a "
            "multiplier of the school's size such as 2."
        ),
    ] = "full",
    switching_threshold: Annotated[
        float, typer.Option(help="A school's cycle fails above this discrepancy rate.")
    ] = 0.0,
    supersedes: Annotated[
        str | None,
        typer.Option(help="The active plan of the same state and year that this one replaces."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Define an audit plan for one state's uploads of one school year (a draft until frozen)."""
    if (fixed_count is None) == (tolerable is None):
        raise InvalidInput("give either --fixed-count N or --tolerable RATE (with --confidence)")
    rules = {
        "rule": "fixed" if fixed_count is not None else "attribute",
        "fixed_count": fixed_count,
        "confidence": confidence,
        "tolerable": tolerable,
        "expected": expected,
        "minimum": minimum,
        "maximum": maximum,
        "uncorroborated_rate": uncorroborated_rate,
        "switching": {"threshold": switching_threshold},
    }
    with session_scope(app_context().engine) as session:
        plan = plans.create_plan(
            session,
            name=name,
            state=state.upper(),
            school_year=year,
            rules=rules,
            actor=cli_actor(),
            supersedes=supersedes,
        )
        described = plans.describe(plan).as_json()
    _print_plan(described, json_output)


def _print_plan(described: dict, json_output: bool) -> None:
    if json_output:
        print_json(described)
        return
    console.print(
        f"plan {described['id']}: {described['state']} {described['school_year']} "
        f"({described['status']})"
    )
    for name, rate in described["rates"].items():
        console.print(f"  {name}: {rate}")
    if described["manifest_sha256"]:
        console.print(f"  manifest sha256 {described['manifest_sha256']}")


@plan_app.command("list")
def plan_list(
    state: Annotated[str | None, typer.Option(help="Only this state's plans.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Audit plans with their status and task progress."""
    with session_scope(app_context().engine) as session:
        progress = [
            asdict(p) for p in results.progress_by_plan(session, state.upper() if state else None)
        ]
    if json_output:
        print_json(progress)
        return
    table = Table("plan", "state", "year", "status", "tasks", "open", "final", "discrepancies")
    for p in progress:
        table.add_row(
            p["plan_id"],
            p["state"],
            p["school_year"],
            p["status"],
            str(p["tasks"]),
            str(p["open"]),
            str(p["final"]),
            str(p["discrepancies"]),
        )
    console.print(table)


@plan_app.command("show")
def plan_show(plan: PlanArg, json_output: JsonFlag = False) -> None:
    """A plan's rules, the rates they mean, and its published manifest digest."""
    with session_scope(app_context().engine) as session:
        described = plans.describe(plans.get_plan(session, plan)).as_json()
    _print_plan(described, json_output)


@app.command("manifest")
def manifest_command(
    plan: PlanArg,
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Where to write the CSV.")],
    json_output: JsonFlag = False,
) -> None:
    """Freeze the plan's population and write its manifest; publish the sha256 before the seed."""
    with session_scope(app_context().engine) as session:
        frozen = plans.freeze(session, plan, out, cli_actor())
        strata = frozen.strata()
    if json_output:
        print_json(
            {
                "plan": plan,
                "manifest_sha256": frozen.sha256,
                "items": len(frozen.items),
                "newly_frozen": frozen.newly_frozen,
                "strata": strata,
                "file": str(out),
            }
        )
        return
    console.print(f"{len(frozen.items)} uploads in {len(strata)} strata written to {out}")
    console.print(frozen.sha256)


@app.command("draw")
def draw_command(plan: PlanArg, seed: SeedOption, json_output: JsonFlag = False) -> None:
    """Draw the plan's sample from its frozen population with the public seed."""
    with session_scope(app_context().engine) as session:
        result = draws.draw_sample(session, plan, seed, cli_actor())
        payload = result.as_json()
    if json_output:
        print_json(payload)
        return
    _print_items(payload["items"])
    note = " (already drawn with this seed: the stored sample)" if result.repeated else ""
    console.print(
        f"{len(payload['items'])} uploads drawn{note}; seed {seed!r}, manifest "
        f"sha256 {payload['manifest_sha256']}"
    )
    for stratum in result.whole_strata:
        console.print(f"  stratum {stratum} is smaller than its sample size: taken whole")


def _print_items(items: list[dict]) -> None:
    table = Table("stratum", "id", "ticket")
    for item in items:
        table.add_row(item["stratum"], item["id"], item["ticket"])
    console.print(table)


@app.command("expand")
def expand_command(
    plan: PlanArg,
    stratum: Annotated[str, typer.Option(help="The stratum to draw more from.")],
    size: Annotated[int, typer.Option(min=1, help="How many more (continuing the tickets).")],
    json_output: JsonFlag = False,
) -> None:
    """Draw more from one stratum, continuing the same ticket order (a new round)."""
    with session_scope(app_context().engine) as session:
        result = draws.expand(session, plan, {stratum: size}, cli_actor())
        payload = {**result.as_json(), "round": result.draw.round}
    if json_output:
        print_json(payload)
        return
    _print_items(payload["items"])
    console.print(f"round {payload['round']}: {len(payload['items'])} more from {stratum}")


@app.command("verify-draw")
def verify_draw(
    plan: PlanArg,
    seed: SeedOption,
    manifest: Annotated[Path, typer.Option(metavar="FILE", help="The published manifest CSV.")],
    json_output: JsonFlag = False,
) -> None:
    """Re-derive every round from the manifest and seed; exit 4 naming what differs."""
    with session_scope(app_context().engine) as session:
        result = draws.verify(session, plan, seed, manifest, cli_actor())
    if json_output:
        print_json(result.as_json())
    elif result.ok:
        console.print(f"draw verified: {result.items} items in {result.rounds} round(s) match")
    else:
        for difference in result.differences:
            err_console.print(f"[bold red]differs:[/] {difference}")
    if not result.ok:
        sys.exit(4)


@app.command("release")
def release_command(
    task: Annotated[int, typer.Argument(metavar="TASK", help="The audit task id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the event log).")] = "released by "
    "an operator",
    json_output: JsonFlag = False,
) -> None:
    """Return a task an absent auditor holds to the queue (its findings so far stay)."""
    from audit.plans import queue  # its case files read evidence (images, PDFs, badges)

    with session_scope(app_context().engine) as session:
        released = queue.release_task_by_id(session, task, cli_actor(), reason=reason)
        payload = {"id": released.id, "status": released.status, "plan_id": released.plan_id}
    if json_output:
        print_json(payload)
    else:
        console.print(f"audit task {task} is back in the queue ({payload['status']})")


@cycle_app.command("close")
def cycle_close(plan: PlanArg, json_output: JsonFlag = False) -> None:
    """Apply the switching rules per school from final findings; draw follow-ups."""
    with session_scope(app_context().engine) as session:
        cycles = escalation.close_cycle(session, plan, cli_actor())
    rows = [c.__dict__ for c in cycles]
    if json_output:
        print_json({"plan": plan, "schools": rows})
        return
    for c in cycles:
        move = f"{c.level_before} -> {c.level_after}" if c.switched else f"stays {c.level_after}"
        extra = f"; follow-up draw of {c.follow_up}" if c.follow_up else ""
        console.print(
            f"{c.school_code}: {c.discrepancies}/{c.sampled} discrepancies, {move} "
            f"({c.reason}){extra}"
        )


@app.command("results")
def results_command(
    plan: PlanArg,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE.csv", help="Also write them as CSV.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Per school and state: sampled, findings, observed rate and its upper bound, countable."""
    with session_scope(app_context().engine) as session:
        if out is not None:
            found = results.export_results(session, plan, out, cli_actor()).as_json()
        else:
            found = results.plan_results(session, plan).as_json()
    if json_output:
        print_json(found)
        return
    table = Table(
        "school",
        "population",
        "sampled",
        "final",
        "discrepancies",
        "rate",
        f"upper {found['confidence']:.0%}",
        "countable",
    )
    for row in [*found["schools"], found["total"]]:
        table.add_row(
            row["school_code"],
            str(row["population"]),
            str(row["sampled"]),
            str(row["final"]),
            str(row["discrepancies"]),
            _percent(row["observed_rate"]),
            _percent(row["upper_bound"]),
            str(row["countable"]),
        )
    console.print(table)
    for row in [*found["schools"], found["total"]]:
        console.print(f"{row['school_code']}: {row['sentence']}", soft_wrap=True)
    console.print(
        "countable: uploads that can be counted for accountability (every upload but those "
        "with a confirmed discrepancy)"
    )
    console.print(
        f"rates: corroborated {found['rates']['corroborated']}; uncorroborated "
        f"{found['rates']['uncorroborated']}"
    )
    if out is not None:
        console.print(f"written to {out}")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
