"""The `sluice` command line: one module per command group, one for rendering."""

import click

from sluice.cli._common import Group, global_options
from sluice.cli.audit import audit_group
from sluice.cli.backup import backup_command, restore_command
from sluice.cli.config import config_group
from sluice.cli.demo import demo_group
from sluice.cli.forward import forward_group
from sluice.cli.migrate import grants_command, migrate_command
from sluice.cli.scan import csp_policy_command, scan_command
from sluice.cli.services import dashboard_command, forwarder_command, serve_command, up_command
from sluice.cli.users import user_group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def cli() -> None:
    """Sluice: on-premise web analytics whose only way out is de-identified aggregates."""


for command in (serve_command, up_command, dashboard_command, forwarder_command, demo_group, migrate_command,
                grants_command, config_group, user_group, audit_group, forward_group, scan_command, csp_policy_command,
                backup_command, restore_command):
    cli.add_command(command)


def main() -> None:
    cli.main(prog_name="sluice")
