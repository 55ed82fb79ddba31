"""`credx init`: create (or upgrade) an installation; safe to re-run."""

from __future__ import annotations

from credx.app import App
from credx.cli.common import JsonFlag, command_app, console, print_json
from credx.installation import initialise
from kernel.settings import load_settings


def init(json_output: JsonFlag = False) -> None:
    """Create the home, the master key (mode 0600) and the database; re-running is safe."""
    result = initialise(command_app(App(load_settings())))
    if json_output:
        print_json(result)
        return
    console.print(f"credx home      {result['home']}")
    console.print(f"database        {result['database']} (revision {result['schema_revision']})")
    console.print(f"blob store      {result['blob_store']}")
    state = "created" if result["key_created"] else "kept"
    console.print(f"master key      {result['master_key_id']} ({state}) in {result['keys_dir']}")
    if result["credentials_added"]:
        console.print(f"credentials     {result['credentials_added']} codes seeded")
