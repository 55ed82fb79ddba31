"""Settings: read from the environment and TOML, and every one documented in the manual."""

import importlib.util
import sys
from pathlib import Path

from kernel.settings import describe_settings, load_settings

GENERATOR = Path(__file__).resolve().parents[2] / "docs" / "gen_reference.py"


def generated_settings_reference() -> str:
    """The manual's settings page, as `mkdocs build` generates it."""
    spec = importlib.util.spec_from_file_location("gen_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being defined
    try:
        spec.loader.exec_module(module)
        return module.settings_page()
    finally:
        del sys.modules[spec.name]


def test_every_setting_is_documented_in_the_generated_reference():
    text = generated_settings_reference()
    missing = [name for name, _, _ in describe_settings() if f"`{name}`" not in text]
    assert missing == []
    undescribed = [name for name, _, meaning in describe_settings() if not meaning.strip()]
    assert undescribed == []


def test_environment_wins_over_the_config_file(tmp_path, monkeypatch):
    config = tmp_path / "credx.toml"
    config.write_text('database_url = "sqlite:////from/file.db"\ningest_batch_rows = 5000\n')
    monkeypatch.setenv("CREDX_CONFIG", str(config))
    monkeypatch.setenv("CREDX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREDX_INGEST_BATCH_ROWS", "20000")
    settings = load_settings()
    assert settings.resolved_database_url == "sqlite:////from/file.db"
    assert settings.ingest_batch_rows == 20000
    assert settings.resolved_blob_url == str(tmp_path / "home" / "blobs")


def test_defaults_live_in_the_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDX_CONFIG", raising=False)
    monkeypatch.setenv("CREDX_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'credx.db'}"
    assert settings.resolved_keys_dir == tmp_path / "keys"
