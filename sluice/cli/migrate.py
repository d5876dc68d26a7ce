"""`sluice migrate`: bring the warehouse schema up to date; `sluice grants`: the service users a server needs."""

import click

from sluice.cli._common import call, context, global_options
from warehouse import parse_dsn
from warehouse.grants import grant_sql


@click.command("migrate")
@global_options
def migrate_command() -> None:
    """Bring the warehouse schema up to date."""
    result = call("POST", "/api/ops/migrate", migrate=False)
    for migration in result["applied"]:
        click.echo(f"applied migration {migration['version']}: {migration['name']}")
    if not result["applied"]:
        click.echo(f"schema is up to date (version {result['current']})")


@click.command("grants")
@global_options
def grants_command() -> None:
    """Print the SQL that creates each service's ClickHouse user with the least it needs (server mode)."""
    click.echo(grant_sql(parse_dsn(context().warehouse.dsn).database), nl=False)
