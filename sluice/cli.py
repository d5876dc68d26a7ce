"""The `sluice` command line."""

import asyncio
import functools
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import click
import httpx
import msgspec
from clickhouse_connect.driver.exceptions import ClickHouseError
from tqdm import tqdm

from collector.accounts import Role
from forwarder.runner import MissingCredential
from sluice import dashboard
from sluice.config import Config, ConfigError, find_config, load_config
from sluice.datadir import DataDir, DataDirError
from scanner.policy import report_only_headers
from scanner.settings import ScannerSettings, Target
from sluice.forwarding import ForwardingError, run_forwarder
from sluice.scanning import scan
from sluice.logs import configure_logging
from sluice.ops import OpsError, checked, ops_client
from sluice.serve import Listener, Plan, ServeError, serve
from warehouse import WarehouseError, WarehouseSettings, embedded_dsn
from warehouse.errors import first_line

_DEMO_CHUNK = 100_000
_DEMO_ADMIN = "demo-admin"
_FAILURES = (ClickHouseError, DataDirError, ForwardingError, MissingCredential, OpsError, ServeError, WarehouseError)
_INVALID_CONFIG = 2


class _Failure(click.ClickException):
    """One clear line on stderr and a non-zero exit, never a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        message = self.format_message()
        click.echo(message if "\n" in message else f"sluice: {message}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise _Failure(str(exc), _INVALID_CONFIG) from None
        except _FAILURES as exc:
            raise _Failure(first_line(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("SLUICE_DEBUG"):
                raise
            raise _Failure(f"unexpected {type(exc).__name__}: {first_line(exc)} (set SLUICE_DEBUG=1 for details)") from None


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    # ctx.meta is shared by the whole command chain, so the option can come before or after the command.
    if value is not None:
        ctx.meta[f"sluice.{param.name}"] = value


def global_options(command: Callable) -> Callable:
    """`--config` and `--data-dir`, accepted on the group and on every command."""
    options = [
        click.option("--config", type=click.Path(path_type=Path, dir_okay=False), expose_value=False,
                     callback=_remember, help="Config file (default: $SLUICE_CONFIG, else built-in defaults)."),
        click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), expose_value=False,
                     callback=_remember, help="Data directory (default: $SLUICE_DATA_DIR, else ./.sluice)."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), options, command)


class _Context(NamedTuple):
    config: Config
    data_dir: DataDir

    @property
    def warehouse(self) -> WarehouseSettings:
        settings = self.config.warehouse
        return settings if settings.dsn else msgspec.structs.replace(settings, dsn=embedded_dsn(self.data_dir.path))


def _context() -> _Context:
    meta = click.get_current_context().meta
    data_dir = meta.get("sluice.data_dir") or Path(os.environ.get("SLUICE_DATA_DIR") or ".sluice")
    return _Context(config=load_config(find_config(meta.get("sluice.config"))), data_dir=DataDir(data_dir))


def _config_path() -> Path | None:
    return find_config(click.get_current_context().meta.get("sluice.config"))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def cli() -> None:
    """Sluice: on-premise web analytics whose only way out is de-identified aggregates."""


def listener_options(command: Callable) -> Callable:
    options = [
        click.option("--host", help="Public listener address (default from config: 0.0.0.0)."),
        click.option("--public-port", type=click.IntRange(1, 65535), help="Public listener port (default 8400)."),
        click.option("--internal-port", type=click.IntRange(1, 65535), help="Internal listener port (default 8401)."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _plan(ctx: _Context, host: str | None, public_port: int | None, internal_port: int | None) -> Plan:
    server = ctx.config.server
    return Plan(
        data_dir=ctx.data_dir,
        warehouse=ctx.warehouse,
        collector=ctx.config.collector,
        sites=ctx.config.sites,
        public=Listener("public", host or server.host, public_port or server.public_port),
        internal=Listener("internal", server.internal_host, internal_port or server.internal_port),
        public_workers=server.public_workers,
        log_level=server.log_level,
        forwarder=ctx.config.forwarder,
        scanner=ctx.config.scanner,
    )


@cli.command("serve")
@global_options
@listener_options
def serve_command(host: str | None, public_port: int | None, internal_port: int | None) -> None:
    """Run the public and internal listeners until SIGTERM."""
    ctx = _context()
    configure_logging(ctx.config.server.log_level)
    serve(_plan(ctx, host, public_port, internal_port))


@cli.command("up")
@global_options
@listener_options
@click.option("--demo", is_flag=True, help="Seed demo events over the last 90 days first, once.")
@click.option("--demo-events", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--dashboard-port", type=click.IntRange(1, 65535), default=8501, show_default=True)
def up_command(demo: bool, demo_events: int, dashboard_port: int, host: str | None, public_port: int | None,
               internal_port: int | None) -> None:
    """Start Sluice: optionally seed demo data, say where to look, then serve."""
    ctx = _context()
    plan = _plan(ctx, host, public_port, internal_port)
    site = ctx.config.sites[0].id
    login = ""
    if demo:
        password = _seed_demo(ctx, events=demo_events, days=90, site=site, only_if_empty=True, admin=True)
        login = f"\n  demo login:         {_DEMO_ADMIN} / {password}   (admin)"
    public = plan.public.local_url
    click.echo(
        f"""
Sluice is starting on {ctx.data_dir.path}
  add to your pages:  <script defer src="{public}/t.js" data-site="{site}"></script>
  events go to:       {public}/collect
  internal API:       {plan.internal.local_url}/api/schema/openapi.json
  dashboard:          http://127.0.0.1:{dashboard_port}
  metrics:            {plan.internal.local_url}/metrics{login}
Stop with Ctrl+C.
"""
    )
    configure_logging(ctx.config.server.log_level)
    ui = dashboard.start(dashboard_port, "0.0.0.0", plan.internal.local_url)
    try:
        serve(plan)
    finally:
        ui.terminate()
        ui.wait(timeout=30)


@cli.command("dashboard")
@global_options
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--address", default="0.0.0.0", show_default=True, help="Address the dashboard listens on.")
@click.option("--api", "api_url", help="Internal API URL (default: this config's internal listener).")
def dashboard_command(port: int, address: str, api_url: str | None) -> None:
    """Run the dashboard, a client of the internal API."""
    ctx = _context()
    url = api_url or _plan(ctx, None, None, None).internal.local_url
    os.execvpe(sys.executable, dashboard.command(port, address), os.environ | {"SLUICE_API_URL": url})


@cli.group("demo")
@global_options
def demo_group() -> None:
    """Demo data."""


@demo_group.command("seed")
@global_options
@click.option("--events", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 400), default=90, show_default=True)
@click.option("--site", help="Site id (default: the first configured site).")
def demo_seed_command(events: int, days: int, site: str | None) -> None:
    """Load realistic hospital traffic through the same enrichment as live events."""
    ctx = _context()
    _seed_demo(ctx, events=events, days=days, site=site or ctx.config.sites[0].id, only_if_empty=False)


async def _demo_admin(client: httpx.AsyncClient) -> str:
    """Create the demo admin, or give it a new password: only a hash is kept, so it is new each time."""
    password = secrets.token_urlsafe(12)
    if any(account["username"] == _DEMO_ADMIN for account in checked(await client.get("/api/ops/users")).json()):
        checked(await client.patch(f"/api/ops/users/{_DEMO_ADMIN}", json={"password": password, "role": "admin"}))
    else:
        checked(await client.post("/api/ops/users", json={"username": _DEMO_ADMIN, "role": "admin",
                                                          "password": password}))
    return password


def _seed_demo(ctx: _Context, *, events: int, days: int, site: str, only_if_empty: bool,
               admin: bool = False) -> str | None:
    """Seed in chunks, so the progress bar moves whether a server or this process does the work; with
    `admin`, also create the demo admin in the same session and return its password."""

    async def seed(client: httpx.AsyncClient) -> None:
        with tqdm(total=events, unit=" events", unit_scale=True, desc="seeding demo data") as bar:
            for chunk, start in enumerate(range(0, events, _DEMO_CHUNK)):
                body = {"events": min(_DEMO_CHUNK, events - start), "days": days, "site": site, "seed": chunk,
                        "only_if_empty": only_if_empty and chunk == 0}
                result = checked(await client.post("/api/ops/demo/seed", json=body)).json()
                if result["skipped"]:
                    bar.write("the warehouse already holds events: demo data not seeded again")
                    return
                bar.update(result["inserted"])

    async def run() -> str | None:
        async with ops_client(ctx.data_dir, ctx.warehouse) as client:
            await seed(client)
            return await _demo_admin(client) if admin else None

    return asyncio.run(run())


@cli.command("migrate")
@global_options
def migrate_command() -> None:
    """Bring the warehouse schema up to date."""
    result = _call("POST", "/api/ops/migrate", migrate=False)
    for migration in result["applied"]:
        click.echo(f"applied migration {migration['version']}: {migration['name']}")
    if not result["applied"]:
        click.echo(f"schema is up to date (version {result['current']})")


@cli.group("config")
@global_options
def config_group() -> None:
    """Inspect the configuration file."""


@config_group.command("check")
@global_options
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
def config_check_command(file: Path | None) -> None:
    """Validate FILE (default: --config or $SLUICE_CONFIG); exit 2 if it has problems."""
    path = file or _config_path()
    if path is None:
        click.echo("no config file given: built-in defaults are in use")
        return
    load_config(path)
    click.echo(f"{path}: valid")


@cli.group("user")
@global_options
def user_group() -> None:
    """Accounts of the dashboard and internal API."""


_ROLES = click.Choice([role.value for role in Role])
_password_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")


@user_group.command("add")
@global_options
@click.argument("name")
@click.option("--role", type=_ROLES, required=True)
@_password_stdin
def user_add_command(name: str, role: str, password_stdin: bool) -> None:
    """Create an account (password: at least 12 characters, not common, not the name)."""
    account = _call("POST", "/api/ops/users", json={"username": name, "role": role,
                                                      "password": _password(password_stdin)})
    click.echo(f"added {account['username']} ({account['role']})")


@user_group.command("list")
@global_options
def user_list_command() -> None:
    """List accounts with their role and state."""
    for account in _call("GET", "/api/ops/users"):
        state = "disabled" if account["disabled"] else "active"
        click.echo(f"{account['username']:24} {account['role']:11} {state:9} changed {account['changed_at']} "
                   f"by {account['changed_by']}")


@user_group.command("set-role")
@global_options
@click.argument("name")
@click.argument("role", type=_ROLES)
def user_set_role_command(name: str, role: str) -> None:
    """Give an account another role (its open sessions end)."""
    _call("PATCH", f"/api/ops/users/{name}", json={"role": role})
    click.echo(f"{name} is now {role}")


@user_group.command("disable")
@global_options
@click.argument("name")
def user_disable_command(name: str) -> None:
    """Disable an account (its open sessions end)."""
    _call("PATCH", f"/api/ops/users/{name}", json={"disabled": True})
    click.echo(f"{name} is disabled")


@user_group.command("reset-password")
@global_options
@click.argument("name")
@_password_stdin
def user_reset_password_command(name: str, password_stdin: bool) -> None:
    """Set a new password (and enable the account)."""
    _call("PATCH", f"/api/ops/users/{name}", json={"password": _password(password_stdin)})
    click.echo(f"password of {name} changed")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@cli.group("audit")
@global_options
def audit_group() -> None:
    """Work with the audit log."""


@audit_group.command("verify")
@global_options
def audit_verify_command() -> None:
    """Re-walk the audit log's hash chains; exit 1 at the first broken link."""
    result = _call("POST", "/api/ops/audit/verify", existing=True)
    if result["intact"]:
        click.echo(f"audit log intact: {result['checked']} entries verified")
        return
    broken = result["broken"]
    raise _Failure(f"audit log broken at entry {broken['seq']} of chain {broken['chain']}: {broken['reason']} "
                   f"({result['checked']} entries before it verified)")


def _call(method: str, path: str, *, json: Any = None, migrate: bool = True, existing: bool = False) -> Any:
    """Call the internal API, through the server if one holds the data dir."""
    ctx = _context()

    async def call() -> Any:
        async with ops_client(ctx.data_dir, ctx.warehouse, migrate=migrate, existing=existing,
                              forwarder=ctx.config.forwarder, scanner=ctx.config.scanner) as client:
            return checked(await client.request(method, path, json=json)).json()

    return asyncio.run(call())


@cli.group("forward")
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
    result = _call("POST", "/api/ops/forward/run", json={"destination": destination, "window": window,
                                                         "dry_run": dry_run})
    click.echo(_cell_table(result["cells"]))
    if dry_run:
        for planned in result["requests"]:
            request = planned["request"]
            click.echo(f"\n# {planned['destination']}: {len(planned['keys'])} cell(s)"
                       + (f" - BLOCKED: {planned['blocked']}" if planned["blocked"] else ""))
            click.echo(f"{request['method']} {request['url']}")
            for name, value in request["headers"].items():
                click.echo(f"{name}: {value}")
            click.echo(f"\n{request['body']}")
        click.echo("\ndry run: nothing was sent or recorded")
    else:
        click.echo(", ".join(f"{count} {state}" for state, count in result["outcomes"].items()) or "nothing to send")


@forward_group.command("status")
@global_options
def forward_status_command() -> None:
    """The outbox: cells per destination, window and state; this month's privacy budget."""
    status = _call("GET", "/api/ops/forward/status")
    rows = [[c["window_start"], c["destination"], c["state"], str(c["cells"])] for c in status["counts"]]
    click.echo(_columns(["window", "destination", "state", "cells"], rows) if rows else "the outbox is empty")
    for signal, spent in status["epsilon_this_month"].items():
        click.echo(f"privacy budget spent this month by {signal}: epsilon {spent:g}")


@cli.command("scan")
@global_options
@click.argument("urls", nargs=-1)
@click.option("--site", help="The site the URLs belong to (default: the target with their host, else the first site).")
@click.option("--dynamic/--static", default=None, help="Load pages in headless Chromium too (default: scanner.dynamic).")
def scan_command(urls: tuple[str, ...], site: str | None, dynamic: bool | None) -> None:
    """Crawl the website (the configured targets, or URLS) and list every third party it loads."""
    ctx = _context()
    settings = ctx.config.scanner
    if dynamic is not None:
        settings = msgspec.structs.replace(settings, dynamic=dynamic)
    targets = [_adhoc_target(ctx, list(urls), site)] if urls else settings.targets
    if not targets:
        raise click.UsageError("name URLs to scan, or list [[scanner.targets]] in the config file")
    for target in targets:
        with tqdm(total=settings.max_pages, unit=" pages", desc=f"scanning {target.site}") as bar:
            result = scan(target, settings, ctx.config.sites, on_page=lambda page: bar.update(1))
            bar.total = bar.n
            bar.refresh()
        recorded = _call("POST", "/api/ops/scans", json=msgspec.to_builtins(result))
        _print_scan(recorded, settings)


@cli.command("csp-policy")
@global_options
@click.option("--site", help="Site id (default: the first configured site).")
@click.option("--report-uri", default="/csp-report", show_default=True,
              help="Where browsers send reports: Sluice's public /csp-report, as the site's pages reach it.")
def csp_policy_command(site: str | None, report_uri: str) -> None:
    """Print report-only CSP headers allowing the site's origins and allowed vendors."""
    ctx = _context()
    chosen = next((s for s in ctx.config.sites if s.id == (site or ctx.config.sites[0].id)), None)
    if chosen is None:
        raise click.BadParameter(f"no site {site!r}", param_hint="--site")
    for name, value in report_only_headers(chosen.origins, ctx.config.scanner, report_uri).items():
        click.echo(f"{name}: {value}")


def _adhoc_target(ctx: _Context, urls: list[str], site: str | None) -> Target:
    hosts = {urlsplit(url).hostname for url in urls}
    matching = next((t.site for t in ctx.config.scanner.targets if hosts & {urlsplit(u).hostname for u in t.start_urls}),
                    None)
    try:
        return msgspec.convert({"site": site or matching or ctx.config.sites[0].id, "start_urls": urls}, Target)
    except msgspec.ValidationError as exc:
        raise click.BadParameter(str(exc)) from None


def _print_scan(recorded: dict, settings: ScannerSettings) -> None:
    scan = recorded["scan"]
    rows = [[f["page"], f["host"], f["vendor"] or "(unknown)", f["kind"],
             "yes" if settings.allowance(f["host"]) else "NO"] for f in recorded["findings"]]
    click.echo(f"site {scan['site']}: {scan['pages']} pages, {len(rows)} third-party loads")
    if rows:
        click.echo(_columns(["page", "host", "vendor", "kind", "allowed"], rows))
    for label, changes in (("new since the last scan", recorded["new"]), ("gone since the last scan", recorded["gone"])):
        for page, host, vendor in changes:
            click.echo(f"{label}: {vendor or host} ({host}) on {page}")
    for alert in recorded["alerts"]:
        click.echo(f"alert: {alert['message']}")


@cli.command("forwarder")
@global_options
def forwarder_command() -> None:
    """Run the forwarder's schedule as its own service (server mode) until SIGTERM."""
    ctx = _context()
    configure_logging(ctx.config.server.log_level)
    run_forwarder(ctx.config.forwarder, ctx.warehouse, ctx.data_dir)


def _cell_table(cells: list[dict]) -> str:
    if not cells:
        return "no conversions in the window(s)"
    rows = [[c["window"][:16], c["destination"], c["signal"], ", ".join(f"{k}={v}" for k, v in c["dimensions"].items()),
             str(c["visitors"]), str(c["conversions"]), f"{c['value']:g}", c["state"], c["reason"]] for c in cells]
    return _columns(["window", "destination", "signal", "cell", "visitors", "conversions", "value", "state", "why"],
                    rows)


def _columns(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])


def main() -> None:
    cli.main(prog_name="sluice")
