"""`sluice config check`: validate a config file."""

from pathlib import Path

import click

from sluice.cli._common import config_path, global_options
from sluice.config import load_config


@click.group("config")
@global_options
def config_group() -> None:
    """Inspect the configuration file."""


@config_group.command("check")
@global_options
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
def config_check_command(file: Path | None) -> None:
    """Validate FILE (default: --config or $SLUICE_CONFIG); exit 2 if it has problems."""
    path = file or config_path()
    if path is None:
        click.echo("no config file given: built-in defaults are in use")
        return
    load_config(path)
    click.echo(f"{path}: valid")
