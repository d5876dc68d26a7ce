"""How commands print tables: forwarded cells, scans, plain columns."""

import click

from scanner.settings import ScannerSettings


def columns(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])


def cell_table(cells: list[dict]) -> str:
    if not cells:
        return "no conversions in the window(s)"
    rows = [[c["window"][:16], c["destination"], c["signal"], ", ".join(f"{k}={v}" for k, v in c["dimensions"].items()),
             str(c["visitors"]), str(c["conversions"]), f"{c['value']:g}", c["state"], c["reason"]] for c in cells]
    return columns(["window", "destination", "signal", "cell", "visitors", "conversions", "value", "state", "why"], rows)


def print_requests(requests: list[dict]) -> None:
    """Each planned request exactly as it would go, credentials masked."""
    for planned in requests:
        request = planned["request"]
        click.echo(f"\n# {planned['destination']}: {len(planned['keys'])} cell(s)"
                   + (f" - BLOCKED: {planned['blocked']}" if planned["blocked"] else ""))
        click.echo(f"{request['method']} {request['url']}")
        for name, value in request["headers"].items():
            click.echo(f"{name}: {value}")
        click.echo(f"\n{request['body']}")


def print_scan(recorded: dict, settings: ScannerSettings) -> None:
    scan = recorded["scan"]
    rows = [[f["page"], f["host"], f["vendor"] or "(unknown)", f["kind"],
             "yes" if settings.allowance(f["host"]) else "NO"] for f in recorded["findings"]]
    click.echo(f"site {scan['site']}: {scan['pages']} pages, {len(rows)} third-party loads")
    if rows:
        click.echo(columns(["page", "host", "vendor", "kind", "allowed"], rows))
    for label, changes in (("new since the last scan", recorded["new"]), ("gone since the last scan", recorded["gone"])):
        for page, host, vendor in changes:
            click.echo(f"{label}: {vendor or host} ({host}) on {page}")
    for alert in recorded["alerts"]:
        click.echo(f"alert: {alert['message']}")
