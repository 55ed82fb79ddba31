"""`credx link ...`: the record linker (persons across vendors, districts and rosters)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from credx.cli.common import JsonFlag, app_context, console, err_console, print_json
from eventlog.log import EventLog, cli_actor
from kernel.database import session_scope
from kernel.errors import InvalidInput
from linkage.events import LinkageEvent

if TYPE_CHECKING:
    from linkage.files import FileLinkage
    from linkage.service import RunSummary

# linkage (Splink, DuckDB) is imported inside the commands: other commands don't pay for it

app = typer.Typer(no_args_is_help=True)

EngineOption = Annotated[
    str, typer.Option("--engine", help="duckdb (one machine) or spark (a cluster)")
]
SIDE_BY_SIDE = (
    "source",
    "source_person_id",
    "full_name",
    "first_name",
    "middle_name",
    "last_name",
    "birth_date",
    "state_student_id",
    "district_code",
    "school_code",
)


@contextmanager
def step_progress(label: str, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """The current step on stderr while a long run works (silent when not a terminal)."""
    if quiet or not err_console.is_terminal:
        yield lambda _msg: None
        return
    with err_console.status(f"{escape(label)}: starting") as status:
        yield lambda msg: status.update(f"{escape(label)}: {escape(msg)}")


def quality(run: RunSummary | FileLinkage) -> str:
    """The run's threshold, its own estimates and its review load, one line."""

    def share(value: float | None, digits: int = 4) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    queued = ", ".join(f"{reason} {count}" for reason, count in run.review_reasons.items())
    return (
        f"merged from match probability {share(run.match_threshold, 6)}; "
        f"estimated precision {share(run.estimated_precision)}, "
        f"recall {share(run.estimated_recall)}; pairs to review by reason: {queued or 'none'}"
    )


@app.command("run")
def run(
    state: Annotated[
        list[str] | None, typer.Option("--state", help="Link only this state (repeatable)")
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option("--incremental", help="Link only records not yet linked, to existing persons"),
    ] = False,
    engine: EngineOption = "duckdb",
    json_output: JsonFlag = False,
) -> None:
    """Link every record in the database into persons, one state at a time."""
    from linkage.service import link_states, parameters_from

    ctx = app_context()
    states = [s.upper() for s in state] if state else None
    with step_progress("linking", quiet=json_output) as say, session_scope(ctx.engine) as session:
        summaries = link_states(
            session,
            states=states,
            params=parameters_from(ctx.settings),
            actor=cli_actor(),
            engine=engine,
            incremental=incremental,
            progress=say,
        )
    if json_output:
        print_json([s.as_dict() for s in summaries])
        return
    if not summaries:
        console.print("no records to link")
    for s in summaries:
        console.print(
            f"{s.state}: {s.records:,} records -> {s.persons:,} persons ({s.kind} run {s.run_id}); "
            f"{s.new_persons:,} new, {s.merged} merged, {s.split} split; "
            f"{s.review_pairs} pairs to review, {s.flagged_clusters} flagged"
        )
        console.print(f"  {quality(s)}")
        for warning in s.warnings:
            console.print(f"  warning: {warning}")


@app.command("file")
def file(
    source: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV or Parquet roster")],
    out: Annotated[Path, typer.Option("--out", metavar="OUTPUT", help="record_id,person_id")],
    engine: EngineOption = "duckdb",
    json_output: JsonFlag = False,
) -> None:
    """De-duplicate a standalone roster: one `record_id, person_id` row per input row."""
    from linkage.files import link_file
    from linkage.service import parameters_from

    ctx = app_context()
    with step_progress(source.name, quiet=json_output) as say:
        summary = link_file(
            source, out, params=parameters_from(ctx.settings), engine=engine, progress=say
        )
    with session_scope(ctx.engine) as session:
        EventLog(session).record(
            LinkageEvent.LINK_FILE_LINKED, f"file:{source.name}", cli_actor(), **asdict(summary)
        )
    result = {"input": str(source), "output": str(out), **asdict(summary)}
    if json_output:
        print_json(result)
        return
    console.print(
        f"{summary.rows:,} rows -> {summary.persons:,} persons written to {out} "
        f"({summary.review_pairs} uncertain pairs, {summary.flagged_clusters} flagged)"
    )
    console.print(quality(summary))
    for warning in summary.warnings:
        console.print(f"  warning: {warning}")


@app.command("review")
def review(
    state: Annotated[str | None, typer.Option("--state", help="Only this state")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many pairs")] = 50,
    json_output: JsonFlag = False,
) -> None:
    """Uncertain or flagged pairs, side by side, most likely matches first."""
    from linkage.review import review_queue

    ctx = app_context()
    with session_scope(ctx.engine) as session:
        items = review_queue(session, actor=cli_actor(), state=state, limit=limit)
    if json_output:
        print_json([i.as_dict() for i in items])
        return
    if not items:
        console.print("no pairs to review")
    for item in items:
        table = Table(
            "field",
            item.left["record_id"],
            item.right["record_id"],
            title=f"pair {item.pair_id} ({item.state}): p={item.match_probability:.3f}, "
            f"{item.reason}",
        )
        for name in SIDE_BY_SIDE:
            left, right = item.left.get(name), item.right.get(name)
            mark = "" if left == right else "[yellow]"
            table.add_row(name, f"{mark}{left or ''}", f"{mark}{right or ''}")
        console.print(table)
    if items:
        console.print("decide with: credx link decide PAIR_ID --same | --different")


@app.command("decide")
def decide_command(
    pair_id: Annotated[int, typer.Argument(metavar="PAIR_ID")],
    same: Annotated[bool, typer.Option("--same", help="The two records are one student")] = False,
    different: Annotated[
        bool, typer.Option("--different", help="The two records are different students")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the decision)")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Decide a review pair; later runs honour it (must-link or cannot-link)."""
    if same == different:
        raise InvalidInput("say either --same or --different")
    from linkage.review import decide, decision_of

    ctx = app_context()
    with session_scope(ctx.engine) as session:
        constraint = decide(session, pair_id, same=same, actor=cli_actor(), note=note)
        result = decision_of(pair_id, constraint)
    if json_output:
        print_json(result.as_json())
    else:
        console.print(
            f"pair {pair_id}: {result.decision} ({result.constraint}); "
            "the next `credx link run` applies it"
        )


@app.command("show")
def show(
    person: Annotated[str, typer.Argument(metavar="PERSON_ID")],
    json_output: JsonFlag = False,
) -> None:
    """A person and every record linked to it (an old id resolves to the current one)."""
    from linkage.review import show_person

    ctx = app_context()
    with session_scope(ctx.engine) as session:
        shown = show_person(session, person, actor=cli_actor())
    if json_output:
        print_json(shown.as_json())
        return
    if shown.person_id != person:
        console.print(f"{person} is now {shown.person_id}")
    console.print(f"person {shown.person_id} ({shown.state}), {len(shown.records)} records")
    table = Table("field", *(r["record_id"] for r in shown.records))
    for name in SIDE_BY_SIDE:
        table.add_row(name, *(str(r.get(name) or "") for r in shown.records))
    console.print(table)
