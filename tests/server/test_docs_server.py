"""docs/server.md stays true: its Python runs, its TOML loads, and it names every setting."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from click.testing import CliRunner

from authgate.server.cli import cli
from authgate.server.config import DEFAULTS, load_settings

PAGE = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(), flags=re.S | re.M)


def test_python_examples_run() -> None:
    blocks = _blocks("python")
    assert blocks
    namespace: dict[str, object] = {"__name__": "docs_server"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/server.md block {number}", "exec"), namespace)


def test_toml_example_is_a_config_file(tmp_path: Path) -> None:
    (block,) = _blocks("toml")
    assert tomllib.loads(block)
    path = tmp_path / "authgate.toml"
    path.write_text(block)
    settings = load_settings({"AUTHGATE_CONFIG": str(path),
                              "AUTHGATE_INSTANCE_PATH": str(tmp_path)}, tmp_path)
    assert settings.issuer == "https://auth.example.com" and settings.proxy_fix == 1
    assert settings.database_url.startswith("postgresql://")
    assert settings.scopes == ("profile", "email", "reports")


def test_every_setting_and_command_is_documented() -> None:
    text = PAGE.read_text()
    missing = [name for name in DEFAULTS if f"`{name}`" not in text]
    assert not missing, missing
    names = list(cli.commands)
    for name in names:
        assert f"`authgate {name}" in text, name
    for name in cli.commands["db"].commands:  # type: ignore[attr-defined]
        assert f"`authgate db {name}" in text, name
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0
