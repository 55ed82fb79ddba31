"""House rules for the test tree that a reviewer would otherwise have to remember.

A test module is not a library: when two test modules need the same helper, it lives in
a helper module (`tests/factories.py`, `tests/cli.py`, `tests/<package>/<noun>.py`), so
moving or deleting one test file never breaks another.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def imported_modules(path: Path, root: Path = TESTS.parent) -> set[str]:
    """Every module `path` (under `root`) imports, by absolute name, relative imports resolved;
    for `from X import y` both X and X.y, since y may be a module."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and parts[-1].startswith("test_")


def test_no_test_module_imports_another_test_module():
    offenders = sorted(
        f"{path.relative_to(TESTS.parent)} imports {name}"
        for path in TESTS.rglob("test_*.py")
        for name in imported_modules(path)
        if is_test_module(name)
    )
    assert offenders == [], "move shared helpers into a helper module:\n" + "\n".join(offenders)


def test_the_rule_sees_every_form_of_import(tmp_path):
    """The check above can fail: each spelling of importing a test module is caught."""
    package = tmp_path / "tests" / "exchange"
    package.mkdir(parents=True)
    spellings = {
        "from tests.exchange.test_pulls import counts": "tests.exchange.test_pulls",
        "import tests.eventlog.test_events": "tests.eventlog.test_events",
        "from tests.eventlog import test_events": "tests.eventlog.test_events",
        "from .test_pulls import counts": "tests.exchange.test_pulls",
        "from ..reports.test_suppression import feasible_values": "tests.reports.test_suppression",
    }
    for source, module in spellings.items():
        path = package / "test_example.py"
        path.write_text(source + "\n")
        found = {name for name in imported_modules(path, tmp_path) if is_test_module(name)}
        assert found == {module}, source
    path.write_text("from tests.factories import make_vendor\nfrom .local_pulls import counts\n")
    assert not any(is_test_module(name) for name in imported_modules(path, tmp_path))
