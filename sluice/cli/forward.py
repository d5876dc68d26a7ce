"""`sluice forward run|status`: the forwarder on demand, and its outbox."""

from datetime import UTC, datetime

import click

from sluice.cli._common import call, global_options
from sluice.cli.render import cell_table, columns, print_requests


@click.group("forward")
@global_options
def forward_group() -> None:
    """Send allow-listed, de-identified conversion signals (see [forwarder] in the config file)."""


def _window(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    for shape in ("%Y-%m-%d", "%Y-%m-%dT%H"):
        try:
            return datetime.strptime(value, shape).replace(tzinfo=UTC).isoformat()
        except ValueError:
            continue
    raise click.BadParameter("a day like 2026-11-21 or an hour like 2026-11-21T14 (UTC)")


@forward_group.command("run")
@global_options
@click.option("--destination", help="Only this destination (default: all).")
@click.option("--window", callback=_window, help="The window starting at this day or hour, UTC (default: all due).")
@click.option("--dry-run", is_flag=True, help="Show the cells and the exact requests; send and record nothing.")
def forward_run_command(destination: str | None, window: str | None, dry_run: bool) -> None:
    """Close due windows into cells and send the released ones."""
    result = call("POST", "/api/ops/forward/run", json={"destination": destination, "window": window,
                                                        "dry_run": dry_run})
    click.echo(cell_table(result["cells"]))
    if dry_run:
        print_requests(result["requests"])
        click.echo("\ndry run: nothing was sent or recorded")
    else:
        click.echo(", ".join(f"{count} {state}" for state, count in result["outcomes"].items()) or "nothing to send")


@forward_group.command("status")
@global_options
def forward_status_command() -> None:
    """The outbox: cells per destination, window and state; this month's privacy budget."""
    status = call("GET", "/api/ops/forward/status")
    rows = [[c["window_start"], c["destination"], c["state"], str(c["cells"])] for c in status["counts"]]
    click.echo(columns(["window", "destination", "state", "cells"], rows) if rows else "the outbox is empty")
    cap = status["monthly_epsilon"]
    if status["exact"]:
        click.echo("exact mode (allow_exact): counts leave as they are, and no privacy budget bounds what they reveal")
        return
    for signal, spent in status["epsilon_this_month"].items():
        click.echo(f"privacy budget spent this month by {signal}: epsilon {spent:g} of its monthly {cap:g}")
    if cap and not status["epsilon_this_month"]:
        click.echo(f"privacy budget spent this month: none yet, of a monthly epsilon {cap:g} per signal")
