"""The manual: README.md stays the front door, and the generated reference misses nothing.

The reference pages come from `docs/gen_reference.py` at build time; these
tests run its page functions in-process and compare them with what the code
declares, found here by other routes (the files on disk, the model's fields,
the app's routes), so a command, setting or event tag the generator skipped
fails CI before anyone reads the site.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from eventlog.tags import EventTag
from kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GENERATOR = ROOT / "docs" / "gen_reference.py"
# The README's two commands, byte for byte: .ci/run and newcomers run them as written.
DEMO_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/credx demo"
TEST_COMMAND = (
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/ruff check . '
    "&& .venv/bin/python -m pytest"
)


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("gen_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def hand_written_pages() -> list[Path]:
    """README.md and every Markdown page under docs/ (the generated ones are never on disk)."""
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


# --- README ----------------------------------------------------------------------------


def test_readme_is_short_and_keeps_the_two_commands_each_in_its_own_block():
    text = README.read_text()
    assert len(text.splitlines()) < 200
    blocks = re.findall(r"^```sh\n(.*?)\n```$", text, flags=re.DOTALL | re.MULTILINE)
    assert DEMO_COMMAND in blocks
    assert TEST_COMMAND in blocks


def test_ci_runs_the_readme_test_command_verbatim():
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text().splitlines()


def test_readme_links_resolve_to_pages_of_the_manual():
    links = re.findall(r"\]\((docs/[^)#]+)", README.read_text())
    assert links, "the README links into the manual"
    assert [link for link in links if not (ROOT / link).is_file()] == []


# --- command line ----------------------------------------------------------------------


def cli_tree() -> dict[str, object]:
    """Every visible `credx ...` command by name, walked here independently of the generator."""
    import typer.main

    import credx.cli

    found: dict[str, object] = {}

    def walk(command, path, parent):
        ctx = command.context_class(command, info_name=path[-1], parent=parent)
        found[" ".join(path)] = command
        for name in getattr(command, "list_commands", lambda _: [])(ctx):
            sub = command.get_command(ctx, name)
            if not sub.hidden:
                walk(sub, [*path, name], ctx)

    walk(typer.main.get_command(credx.cli.app), ["credx"], None)
    return found


def test_every_cli_command_and_option_is_in_the_reference(reference):
    page = reference.cli_page()
    headings = set(re.findall(r"^#+ (credx(?: [\w-]+)*)$", page, flags=re.MULTILINE))
    tree = cli_tree()
    assert sorted(set(tree) - headings) == []
    missing = []
    for name, command in tree.items():
        section = page.split(f" {name}\n", 1)[-1].split("\n#", 1)[0]
        missing += [f"{name} {opt}" for param in command.params
                    for opt in param.opts if param.param_type_name == "option"
                    and opt not in section]  # fmt: skip
    assert missing == []
    # the walk reached the leaves of nested groups, not only the top level
    assert {"credx ingest", "credx log verify", "credx audit plan create"} <= headings


def test_the_cli_walk_goes_through_list_commands_and_get_command(reference):
    """A lazy group lists names and imports a command only when asked: the walk must ask."""
    _, root, _ = next(reference.cli_commands())
    asked = []
    real_get = type(root).get_command

    def spy(self, ctx, name):
        asked.append(name)
        return real_get(self, ctx, name)

    type(root).get_command = spy
    try:
        walked = [" ".join(path) for path, _, _ in reference.cli_commands()]
    finally:
        type(root).get_command = real_get
    assert "ingest" in asked and "credx log verify" in walked


# --- settings --------------------------------------------------------------------------


def test_every_setting_is_in_the_reference_with_its_description(reference):
    page = reference.settings_page()
    for name, field in Settings.model_fields.items():
        assert f"## `CREDX_{name.upper()}`" in page
        assert reference._escape_html(field.description) in page, name
    assert "## `CREDX_CONFIG`" in page


def test_no_setting_is_documented_by_hand():
    """The settings reference is generated; a hand-written table would be a second copy."""
    settings = {f"CREDX_{name.upper()}" for name in Settings.model_fields} | {"CREDX_CONFIG"}
    row_or_heading = re.compile(r"^(?:\|\s*|#+\s*)`?(CREDX_[A-Z0-9_]+)`?\s*(?:\||$)", re.MULTILINE)
    found = [(page.relative_to(ROOT).as_posix(), name) for page in hand_written_pages()
             for name in row_or_heading.findall(page.read_text()) if name in settings]
    assert found == []


def test_no_command_is_described_by_hand_in_two_places():
    """`Commands in detail` is the one hand-written description per command."""
    row = re.compile(r"^\|\s*\[?`?(credx(?: [a-z][\w-]*)+)", re.MULTILINE)
    places: dict[str, set[str]] = {}
    for page in hand_written_pages():
        for name in row.findall(page.read_text()):
            places.setdefault(name, set()).add(page.relative_to(ROOT).as_posix())
    assert {name: where for name, where in places.items() if len(where) > 1} == {}
    assert all(where == {"docs/operator/commands.md"} for where in places.values())


# --- event tags ------------------------------------------------------------------------


def declared_tags_on_disk() -> dict[str, set[str]]:
    """Tag values per `events` module, found by reading the tree, not by the generator."""
    tags: dict[str, set[str]] = {}
    for path in sorted(ROOT.glob("*/**/events.py")):
        if path.relative_to(ROOT).parts[0] in {"tests", "docs", "bench", ".venv"}:
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, EventTag) and value is not EventTag:
                tags.setdefault(module.__name__, set()).update(tag.value for tag in value)
    return tags


def test_every_event_tag_is_in_the_reference_under_its_domain(reference):
    page = reference.events_page()
    declared = declared_tags_on_disk()
    assert len(declared) >= 8  # every domain that emits events
    for module, tags in declared.items():
        section = page.split(f"\n## {module.split('.')[0]}\n", 1)[1].split("\n## ", 1)[0]
        assert sorted(tag for tag in tags if f"`{tag}`" not in section) == [], module


# --- HTTP API and benchmarks -----------------------------------------------------------


def test_every_api_route_is_in_the_reference(reference):
    spec = reference.openapi()
    page = reference.http_page()
    routes = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    assert ("POST", "/api/v1/evidence") in routes
    assert [r for r in routes if f"### `{r[0]} {r[1]}`" not in page] == []


def test_benchmarks_page_shows_every_recorded_run_and_its_figures(reference):
    page = reference.benchmarks_page()
    runs = sorted((ROOT / "bench" / "results").glob("*.json"))
    assert runs
    for path in runs:
        run = json.loads(path.read_text())
        assert f"## {run['benchmark']}" in page and run["command"] in page
        for key, value in run["figures"].items():
            if not isinstance(value, dict | list):
                assert f"| {key} | {reference._cell(value)} |" in page, (path.name, key)


def test_a_run_of_any_shape_renders(reference):
    """Another benchmark writes its own keys: the page renders what is there."""
    run = {"benchmark": "cli_start", "measured_at": "2026-12-03T08:00:00Z", "machine": "idle",
           "command": ".venv/bin/python bench/cli_start.py",
           "figures": {"help_s": 0.31, "python_s": 0.02, "per_command": [{"cmd": "version",
                                                                         "s": 0.3}]}}
    text = "\n".join(reference._run_section(run))
    assert "## cli_start" in text and ".venv/bin/python bench/cli_start.py" in text
    assert "| help_s | 0.31 |" in text and "| version | 0.3 |" in text


def test_the_linkage_method_page_shows_the_recorded_figures_not_typed_ones(reference):
    """The figures table of `methods/linkage.md` is filled in at build time from
    `bench/results/linkage.json`: the page on disk holds the mark, the built page the run."""
    assert reference.FIGURES_MARK in reference.LINKAGE_METHOD.read_text()
    run = json.loads((ROOT / "bench" / "results" / "linkage.json").read_text())
    page = reference.linkage_method_page()
    assert reference.FIGURES_MARK not in page and run["command"] in page
    for data in run["figures"]["datasets"]:
        if not data["student"].get("failed"):
            assert f"| {data['dataset']} | {data['records']:,} | " in page
            assert f"{data['student']['f1']:.4f} |" in page
