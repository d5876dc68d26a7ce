"""`sluice audit verify`: re-walk the audit log's chains."""

import click

from sluice.cli._common import Failure, call, global_options


@click.group("audit")
@global_options
def audit_group() -> None:
    """Work with the audit log."""


@audit_group.command("verify")
@global_options
def audit_verify_command() -> None:
    """Re-walk the audit log's hash chains; exit 1 at the first broken link."""
    result = call("POST", "/api/ops/audit/verify", existing=True)
    if result["intact"]:
        click.echo(f"audit log intact: {result['checked']} entries verified")
        return
    broken = result["broken"]
    raise Failure(f"audit log broken at entry {broken['seq']} of chain {broken['chain']}: {broken['reason']} "
                  f"({result['checked']} entries before it verified)")
