"""The manual's reference pages, generated from the code at every build.

mkdocs-gen-files runs this file (`mkdocs.yml`, plugin `gen-files`) and writes
`reference/*.md` into the site only, never into `docs/`: the CLI from the
Typer app's click tree, the settings from `kernel.settings.Settings`, the
event tags from each domain's `events.py`, the HTTP API from the FastAPI app's
OpenAPI document, and the benchmarks from `bench/results/*.json`.  Each
`*_page()` function returns one page's Markdown, so tests can run them
in-process and check that nothing the code declares is missing.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# Read by kernel.settings itself (which file to read), not a field of Settings.
CONFIG_VARIABLE = (
    "CREDX_CONFIG",
    "CREDX_HOME/credx.toml",
    "Optional TOML file with any of the settings on this page (names without the "
    "`CREDX_` prefix, in lower case).",
)
GENERATED = "Generated from the code at build time (`docs/gen_reference.py`); do not edit.\n"


# --- command line --------------------------------------------------------------------


def cli_commands() -> Iterator[tuple[list[str], Any, Any]]:
    """(path, command, context) for `credx` and every command under it, depth first.

    Walks the click tree only through `list_commands`/`get_command`, so a group
    that imports its subcommands when asked (a lazy group) is documented whole.
    Contexts come from each command's own `context_class`, whichever click
    (Typer may vendor its own) built it.
    """
    import typer.main

    import credx.cli

    yield from _walk(typer.main.get_command(credx.cli.app), ["credx"], None)


def _walk(command: Any, path: list[str], parent: Any) -> Iterator[tuple[list[str], Any, Any]]:
    ctx = command.context_class(command, info_name=path[-1], parent=parent)
    yield path, command, ctx
    if not hasattr(command, "list_commands"):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not getattr(sub, "hidden", False):
            yield from _walk(sub, [*path, name], ctx)


def cli_page() -> str:
    import credx.cli

    lines = ["# Command line", "", GENERATED, _docstring_body(credx.cli.__doc__), ""]
    lines += [
        "All commands read the [settings](settings.md); `--json` prints machine-readable "
        "output on stdout.",
        "",
    ]
    for path, command, ctx in cli_commands():
        lines += _command_section(path, command, ctx)
    return "\n".join(lines)


def _command_section(path: list[str], command: Any, ctx: Any) -> list[str]:
    level = "#" * min(len(path) + 1, 6)
    usage = " ".join([*path, *command.collect_usage_pieces(ctx)])
    lines = [f"{level} {' '.join(path)}", "", "```", usage, "```", ""]
    help_text = _clean_help(command.help or command.short_help or "")
    if help_text:
        lines += [help_text, ""]
    # --help is on every command; the page lists what differs between them
    params = [p for p in command.get_params(ctx)
              if not getattr(p, "hidden", False) and p.name != "help"]  # fmt: skip
    if params:
        lines += [_param_line(param, ctx) for param in params] + [""]
    return lines


def _param_line(param: Any, ctx: Any) -> str:
    """One option or argument as click's own help shows it: names, metavar, help."""
    record = param.get_help_record(ctx)  # click gives none for arguments; Typer does
    names, text = record or (" ".join(param.opts).upper(), getattr(param, "help", None) or "")
    text = _clean_help(text).replace("\n", " ")
    return f"- `{names}`{': ' + text if text else ''}"


def _clean_help(text: str) -> str:
    # click's "\b" keeps a paragraph unwrapped in a terminal; Markdown needs no marker
    return _escape_html(text.replace("\b\n", "").replace("\b", "").strip())


# --- settings --------------------------------------------------------------------------


def settings_rows() -> list[tuple[str, str, str, str]]:
    """(variable, type, default, meaning) for every setting, from the model itself."""
    from kernel.settings import Settings, describe_settings

    types = {f"CREDX_{name.upper()}": field.annotation for name, field in
             Settings.model_fields.items()}  # fmt: skip
    rows = [(name, _type_name(types[name]), default, text)
            for name, default, text in describe_settings()]  # fmt: skip
    variable, default, text = CONFIG_VARIABLE
    return [*rows, (variable, "path", default, text)]


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not hasattr(annotation, "__args__") else None
    text = text or str(annotation)
    return re.sub(r"\b(?:typing|pathlib|pydantic\.types|annotated_types)\.", "", text)


def settings_page() -> str:
    lines = ["# Settings", "", GENERATED,
             "Environment variables, or the same names without the `CREDX_` prefix in lower "
             "case in a TOML file (`CREDX_CONFIG`, default `CREDX_HOME/credx.toml`); "
             "environment variables win. `deploy/credx.example.toml` lists them all.", ""]
    for variable, kind, default, text in settings_rows():
        shown = f"`{default}`" if default else "none"
        lines += [f"## `{variable}`", "", f"Type `{kind}`, default {shown}.", "",
                  _escape_html(text), ""]
    return "\n".join(lines)


# --- event tags ------------------------------------------------------------------------


def domain_packages() -> list[str]:
    """Every top-level package of the repository that has an `events.py` somewhere."""
    return sorted({path.relative_to(ROOT).parts[0] for path in ROOT.glob("*/**/events.py")
                   if (ROOT / path.relative_to(ROOT).parts[0] / "__init__.py").exists()
                   and path.relative_to(ROOT).parts[0] not in {"tests", "docs", "bench"}})


def event_tags() -> list[tuple[type, Any]]:
    from eventlog.tags import all_tags, import_event_modules

    import_event_modules(domain_packages())
    return list(all_tags())


def events_page() -> str:
    lines = ["# Event tags", "", GENERATED,
             "Every entry of the event log carries one of these tags as its `action` "
             "(`source:subject:action`). Each domain declares its own, in its `events.py`.", ""]
    by_domain: dict[str, dict[type, list[Any]]] = {}
    for cls, tag in event_tags():
        by_domain.setdefault(cls.__module__.split(".")[0], {}).setdefault(cls, []).append(tag)
    for domain, classes in sorted(by_domain.items()):
        lines += [f"## {domain}", ""]
        for cls, tags in classes.items():
            lines += [f"### `{cls.__module__}.{cls.__name__}`", ""]
            doc = cls.__doc__ or sys.modules[cls.__module__].__doc__  # else the module's
            lines += [_escape_html(_docstring_body(doc)), ""]
            lines += [f"- `{tag.value}` ({tag.name})" for tag in tags] + [""]
    return "\n".join(lines)


# --- HTTP API --------------------------------------------------------------------------


@dataclass
class _Offline:
    """Just enough of `exchange.resources.Resources` to build the app and read its routes."""

    settings: Any
    engine: Any
    store: Any = None
    keyring: Any = None

    def vault(self, session: Any) -> Any:
        raise RuntimeError("the reference generator serves no request")


def openapi() -> dict[str, Any]:
    """The OpenAPI document of the web app, built on a throwaway home (nothing connects)."""
    from sqlalchemy import create_engine

    from kernel.settings import Settings
    from web.app import create_app

    with tempfile.TemporaryDirectory() as home:
        resources = _Offline(Settings(home=Path(home)), create_engine("sqlite://"))
        return create_app(resources).openapi()


def http_page() -> str:
    spec = openapi()
    schemas = spec.get("components", {}).get("schemas", {})
    lines = ["# HTTP API", "", GENERATED, _escape_html(spec["info"].get("summary", "")), "",
             "The running app serves the same document at `/openapi.json`, with explorers at "
             "`/docs` (Swagger UI) and `/redoc` (ReDoc); this site publishes it as "
             "[openapi.json](openapi.json).", "",
             "Every `/api/v1` operation takes `Authorization: Bearer <token>`. Every refusal "
             "(4xx) is the `Error` schema, `{\"error\": {\"code\", \"message\", \"field\"}}`. "
             "Lists are paged: follow the `Link: <URL>; rel=\"next\"` header until it is "
             "absent. A `201` names the new record in `Location`.", ""]
    operations = [(path, method, op) for path, item in spec["paths"].items()
                  for method, op in item.items() if isinstance(op, dict)]
    for tag in sorted({(op.get("tags") or ["other"])[0] for _, _, op in operations}):
        lines += [f"## {tag}", ""]
        for path, method, op in operations:
            if (op.get("tags") or ["other"])[0] == tag:
                lines += _operation_section(path, method, op, schemas)
    return "\n".join(lines)


def _operation_section(path: str, method: str, op: dict[str, Any],
                       schemas: dict[str, Any]) -> list[str]:  # fmt: skip
    lines = [f"### `{method.upper()} {path}`", ""]
    for text in (op.get("summary"), op.get("description")):
        if text:
            lines += [_escape_html(text.strip()), ""]
    for param in op.get("parameters", []):
        need = "required" if param.get("required") else "optional"
        facts = f"{param['in']}, {_schema_type(param.get('schema', {}))}, {need}"
        lines.append(_field_line(param["name"], facts, param.get("description", "")))
    for kind, content in op.get("requestBody", {}).get("content", {}).items():
        lines.append(f"- request body, `{kind}`:")
        body = _resolve(content.get("schema", {}), schemas)
        required = set(body.get("required", []))
        for name, field in body.get("properties", {}).items():
            facts = f"{_schema_type(field)}, {'required' if name in required else 'optional'}"
            lines.append("    " + _field_line(name, facts, field.get("description", "")))
    codes = ", ".join(f"`{code}`" for code in op.get("responses", {}))
    if codes:
        lines.append(f"- responses: {codes}")
    return [*lines, ""]


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else schema


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_schema_type(option) for option in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_schema_type(schema.get('items', {}))}"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _field_line(name: str, facts: str, text: str) -> str:
    text = _escape_html(text.strip())
    return f"- `{name}` ({facts}){': ' + text if text else ''}"


# --- benchmarks ------------------------------------------------------------------------

RUN_KEYS = ("benchmark", "measured_at", "machine", "command", "figures")


def benchmark_runs() -> list[dict[str, Any]]:
    """The last recorded run of each benchmark: one JSON file per benchmark."""
    return [json.loads(path.read_text()) for path in sorted((BENCH / "results").glob("*.json"))]


def benchmarks_page() -> str:
    lines = ["# Benchmarks", "", GENERATED,
             "The last recorded run of each benchmark, from `bench/results/*.json`. Record a "
             "new run with `.venv/bin/python bench/record.py NAME [ARGS]`, which runs "
             "`bench/NAME.py ARGS --json` and writes `bench/results/NAME.json`.", ""]
    runs = benchmark_runs()
    for run in runs:
        lines += _run_section(run)
    recorded = {run.get("benchmark") for run in runs}
    missing = sorted(p.stem for p in BENCH.glob("*.py")
                     if p.stem not in recorded and p.stem not in {"__init__", "common", "record"})
    if missing:
        lines += ["## Not recorded yet", ""]
        for name in missing:
            lines += [f"### {name}", "", _bench_description(name), ""]
    return "\n".join(lines)


def _run_section(run: dict[str, Any]) -> list[str]:
    name = str(run.get("benchmark", "unnamed"))
    lines = [f"## {name}", "", _bench_description(name), ""]
    lines += [f"Measured {run.get('measured_at', 'at an unrecorded time')} on "
              f"{run.get('machine', 'an unrecorded machine')}:", ""]
    if run.get("command"):
        lines += ["```sh", str(run["command"]), "```", ""]
    lines += _render(run.get("figures", {}))
    for key, value in run.items():
        if key not in RUN_KEYS:
            lines += [f"**{key.replace('_', ' ')}**", "", *_render(value)]
    return lines


def _bench_description(name: str) -> str:
    script = BENCH / f"{name}.py"
    if not script.exists():
        return ""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    # RST-style underlined headings in the scripts' docstrings become bold lines
    doc = re.sub(r"^(.+)\n[-=]{3,}$", r"**\1**\n", doc, flags=re.MULTILINE)
    return _escape_html(doc)


def _render(value: Any) -> list[str]:
    """Figures of any shape: scalars, tables (lists of objects), nested groups."""
    if isinstance(value, dict):
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict | list)}
        lines = _table(["figure", "value"], [[k, v] for k, v in scalars.items()]) if scalars else []
        for key, sub in value.items():
            if isinstance(sub, dict | list):
                lines += [f"**{key.replace('_', ' ')}**", "", *_render(sub)]
        return lines
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        columns = list(dict.fromkeys(key for item in value for key in item))
        return _table(columns, [[item.get(c, "") for c in columns] for item in value])
    if isinstance(value, list):
        return [f"- {_cell(item)}" for item in value] + [""]
    return [_escape_html(str(value)), ""]


def _table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    head = "| " + " | ".join(c.replace("_", " ") for c in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [head, rule, *body, ""]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"  # a benchmark's 1.378473268799037 is 1.378 to a reader
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return _escape_html(text).replace("|", "\\|")


# --- the linkage figures, in the linkage method page ------------------------------------

LINKAGE_METHOD = ROOT / "docs" / "methods" / "linkage.md"
FIGURES_MARK = "<!-- figures: bench/results/linkage.json -->"


def linkage_method_page() -> str:
    """`methods/linkage.md` with its figures table filled in from the last recorded run,
    so no figure is typed into the page."""
    text = LINKAGE_METHOD.read_text()
    recorded = BENCH / "results" / "linkage.json"
    table = linkage_figures(json.loads(recorded.read_text())) if recorded.exists() else ""
    return text.replace(FIGURES_MARK, table or "No run of `bench/linkage.py` is recorded yet.")


def linkage_figures(run: dict[str, Any]) -> str:
    """One row per data set (credx beside the generic baseline), then PASS/FAIL per target."""
    rows = []
    for data in run["figures"].get("datasets", []):
        credx, base = data.get("student", {}), data.get("baseline", {})
        if credx.get("failed"):
            rows.append([data["dataset"], data["records"], "failed", "", "", "", "", "", ""])
            continue
        ratio = credx["seconds"] / base["seconds"] if base.get("seconds") else None
        rows.append([
            data["dataset"], data["records"],
            f"{credx['precision']:.4f} / {credx['recall']:.4f} / {credx['f1']:.4f}",
            f"{credx['review_pairs']:,} ({credx['review_pairs'] / data['records']:.2%})",
            "" if credx.get("match_threshold") is None else f"{credx['match_threshold']:.4g}",
            f"{credx['estimated_precision']:.4f}" if credx.get("estimated_precision") else "",
            f"{credx['peak_rss_mb']:,.0f}",
            "failed" if base.get("failed") else f"{base['f1']:.4f}",
            "" if ratio is None else f"{ratio:.2f}",
        ])  # fmt: skip
    columns = [
        "data set", "records", "credx P / R / F1", "review pairs", "threshold chosen",
        "estimated precision", "credx peak MB", "baseline F1", "time credx / baseline",
    ]  # fmt: skip
    targets = {k: v for part in run["figures"].get("targets", []) for k, v in part.items()}
    verdicts = [f"- {'PASS' if t['pass'] else 'FAIL'} `{name}` = "
                f"{t['value']:{t.get('format', ',.2f')}} (target {t['target']})"
                for name, t in targets.items()]  # fmt: skip
    lines = [f"Last recorded run: {run['measured_at']} on {run['machine']}:", "",
             "```sh", run["command"], "```", "", *_table(columns, rows), *verdicts, ""]  # fmt: skip
    return "\n".join(lines)


# --- shared ----------------------------------------------------------------------------


def _docstring_body(doc: str | None) -> str:
    return re.sub(r"\n\s*\n", "\n\n", (doc or "").strip())


def _escape_html(text: str) -> str:
    """Plain text for Markdown: `<id>` outside code spans must not become an HTML tag."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(part if part.startswith("`") else
                   part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   for part in parts)  # fmt: skip


PAGES = {
    "reference/cli.md": cli_page,
    "reference/settings.md": settings_page,
    "reference/events.md": events_page,
    "reference/http-api.md": http_page,
    "reference/benchmarks.md": benchmarks_page,
}


def openapi_document() -> str:
    """The published spec, as the site serves it beside the HTTP API page."""
    return json.dumps(openapi(), indent=1, sort_keys=False) + "\n"


def write_pages() -> None:
    import mkdocs_gen_files

    for path, page in PAGES.items():
        with mkdocs_gen_files.open(path, "w") as out:
            out.write(page())
    with mkdocs_gen_files.open("reference/openapi.json", "w") as out:
        out.write(openapi_document())
    with mkdocs_gen_files.open("methods/linkage.md", "w") as out:
        out.write(linkage_method_page())


if __name__ in {"__main__", "<run_path>"}:
    write_pages()
