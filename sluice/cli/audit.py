"""`sluice audit verify`: re-walk the audit log's chains and check them against the anchors."""

import click

from sluice.cli._common import Failure, call, global_options


@click.group("audit")
@global_options
def audit_group() -> None:
    """Work with the audit log."""


@audit_group.command("verify")
@global_options
def audit_verify_command() -> None:
    """Re-walk the audit log's signed chains and check them against the anchors; exit 1 on any finding."""
    result = call("POST", "/api/ops/audit/verify", existing=True)
    anchors = result["anchors"]
    against = f"against {anchors} anchors" if anchors is not None else "with no anchor file (cut ends go unseen)"
    if result["intact"]:
        click.echo(f"audit log intact: {result['checked']} entries verified {against}")
        return
    for finding in result["findings"]:
        where = f"chain {finding['chain']!r}" if finding["chain"] else "anchors"
        at = f", entry {finding['seq']}" if finding["seq"] else ""
        click.echo(f"{where}{at}: {finding['reason']}", err=True)
    raise Failure(f"audit log not intact: {len(result['findings'])} findings ({result['checked']} entries "
                  f"verified {against})")
