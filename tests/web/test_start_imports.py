"""The web process starts without the decoders or the data-frame stack: decoding runs in the
sandbox's fork server (which preloads the decoders and nothing of the database layer), and a
route that needs pandas imports it when it runs.  What this saves in memory is a benchmark
(bench/uploads.py), not a test.
"""

from __future__ import annotations

import json
import subprocess
import sys

DECODERS = ("PIL", "pypdfium2", "pypdf")
FRAMES = ("pandas", "pyarrow", "pandera", "numpy", "pyspark")

# Imports the modules given as arguments in a fresh interpreter, then prints which of the
# named top-level packages it loaded.
PROBE = """
import importlib, json, sys
modules, watched = sys.argv[1].split(","), sys.argv[2].split(",")
for module in modules:
    importlib.import_module(module)
print(json.dumps([name for name in watched if name in sys.modules]))
"""


def loaded_by(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(modules), ",".join(watched)],
                            capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


def test_the_web_app_imports_no_decoder_and_no_data_frames():
    assert loaded_by(["web.app", "credx.asgi"], DECODERS + FRAMES) == []


def test_the_fork_server_preloads_the_decoders_and_not_the_database_layer():
    from exchange.evidence.sandbox import PRELOAD

    watched = ("pydantic", "sqlalchemy", "sqlmodel", "pandas")
    assert loaded_by(PRELOAD, DECODERS + watched) == list(DECODERS)
