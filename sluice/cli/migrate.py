"""`sluice migrate`: bring the warehouse schema up to date."""

import click

from sluice.cli._common import call, global_options


@click.command("migrate")
@global_options
def migrate_command() -> None:
    """Bring the warehouse schema up to date."""
    result = call("POST", "/api/ops/migrate", migrate=False)
    for migration in result["applied"]:
        click.echo(f"applied migration {migration['version']}: {migration['name']}")
    if not result["applied"]:
        click.echo(f"schema is up to date (version {result['current']})")
