"""The long-running commands: `serve`, `up`, `dashboard` and `forwarder`."""

import functools
import os
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta

import click
import msgspec

from sluice import dashboard
from sluice.cli._common import Context, config_path, context, global_options
from sluice.cli.demo import DEMO_ADMIN, seed_demo
from sluice.demo_site import SECRET_ENV, demo_site, with_demo
from collector.settings import opt_out_sites
from sluice.forwarding import run_forwarder
from sluice.logs import configure_logging
from sluice.serve import Listener, Plan, serve
from sluice.tls import TlsSettings


def listener_options(command: Callable) -> Callable:
    options = [
        click.option("--host", help="Public listener address (default from config: 0.0.0.0)."),
        click.option("--public-port", type=click.IntRange(1, 65535), help="Public listener port (default 8400)."),
        click.option("--internal-port", type=click.IntRange(1, 65535), help="Internal listener port (default 8401)."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _plan(ctx: Context, host: str | None, public_port: int | None, internal_port: int | None) -> Plan:
    server = ctx.config.server
    return Plan(
        data_dir=ctx.data_dir,
        warehouse=ctx.warehouse,
        audit=ctx.config.audit,
        collector=ctx.config.collector,
        sites=ctx.config.sites,
        public=Listener("public", host or server.host, public_port or server.public_port, secure=server.tls.enabled),
        internal=Listener("internal", server.internal_host, internal_port or server.internal_port,
                          secure=server.tls.enabled, verify_clients=True),
        public_workers=server.public_workers,
        log_level=server.log_level,
        forwarder=ctx.config.forwarder,
        scanner=ctx.config.scanner,
        mail=ctx.config.mail,
        instance=server.instance_id,
        limits=server.limits,
        config=str(config_path() or ""),
        tls=server.tls,
        backup=ctx.config.backup,
        login=ctx.config.login,
    )


@click.command("serve")
@global_options
@listener_options
def serve_command(host: str | None, public_port: int | None, internal_port: int | None) -> None:
    """Run the public and internal listeners until SIGTERM."""
    ctx = context()
    configure_logging(ctx.config.server.log_level)
    serve(_plan(ctx, host, public_port, internal_port))


@click.command("up")
@global_options
@listener_options
@click.option("--demo", is_flag=True, help="Seed demo events over the last 90 days (once), with goals and annotations, and "
              "run a demo website, forwarder policy and scan on loopback.")
@click.option("--demo-events", type=click.IntRange(1), default=1_000_000, show_default=True)
@click.option("--dashboard-port", type=click.IntRange(1, 65535), default=8501, show_default=True)
def up_command(demo: bool, demo_events: int, dashboard_port: int, host: str | None, public_port: int | None,
               internal_port: int | None) -> None:
    """Start Sluice: optionally seed demo data, say where to look, then serve."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a reload while it seeds or starts is not a stop
    ctx = context()
    plan = _plan(ctx, host, public_port, internal_port)
    sign_in = _sign_in(ctx)  # before seeding: a missing client secret is said at once
    site = ctx.config.sites[0].id
    login = ""
    with ExitStack() as demo_parts:
        if demo:
            password = seed_demo(ctx, events=demo_events, days=90, site=site, only_if_empty=True, admin=True)
            login = f"\n  demo login:         {DEMO_ADMIN} / {password}   (admin)"
            url, secret, _ = demo_parts.enter_context(demo_site())
            os.environ[SECRET_ENV] = secret  # the forwarder signs with it, as with any webhook's secret
            forwarder, scanner = with_demo(plan.forwarder, plan.scanner, site, url)
            plan = msgspec.structs.replace(plan, forwarder=forwarder, scanner=scanner,
                                           first_scan_after=timedelta(seconds=5))
            login += f"\n  demo website:       {url}/   (scanned at start; the forwarder's webhook goes to it)"
        _up(ctx, plan, site, dashboard_port, login, sign_in)


def _up(ctx: Context, plan: Plan, site: str, dashboard_port: int, login: str,
        sign_in: dashboard.SignIn | None) -> None:
    public = plan.public.local_url
    click.echo(
        f"""
Sluice is starting on {ctx.data_dir.path}
  add to your pages:  <script defer src="{public}/t.js" data-site="{site}"></script>
  events go to:       {public}/collect
  internal API:       {plan.internal.local_url}/api/schema/openapi.json
  dashboard:          {"https" if plan.tls.enabled else "http"}://127.0.0.1:{dashboard_port}
  metrics:            {plan.internal.local_url}/metrics{login}
Stop with Ctrl+C.
"""
    )
    configure_logging(ctx.config.server.log_level)
    ui = dashboard.start(dashboard_port, "0.0.0.0", plan.internal.local_url, ctx.data_dir.dashboard_key(), plan.tls,
                         sign_in)
    try:
        serve(plan, companions=[ui])
    finally:
        ui.terminate()
        ui.wait(timeout=30)


@click.command("dashboard")
@global_options
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--address", default="0.0.0.0", show_default=True, help="Address the dashboard listens on.")
@click.option("--api", "api_url", help="Internal API URL (default: this config's internal listener).")
def dashboard_command(port: int, address: str, api_url: str | None) -> None:
    """Run the dashboard, a client of the internal API."""
    ctx = context()
    tls = ctx.config.server.tls
    # An API named by --api is verified against the system's CAs; this config's own is trusted by its certificate.
    url = api_url or _plan(ctx, None, None, None).internal.local_url
    key, sign_in = ctx.data_dir.dashboard_key(), _sign_in(ctx)
    os.execvpe(sys.executable, dashboard.command(port, address, tls, sign_in),
               dashboard.environment(url, key, TlsSettings() if api_url else tls, sign_in))


def _sign_in(ctx: Context) -> dashboard.SignIn | None:
    """The dashboard's single sign-on, its secrets written; none without `[login.oidc]`."""
    oidc = ctx.config.login.oidc
    if oidc is None:
        return None
    sign_in = dashboard.SignIn(oidc, ctx.data_dir.dashboard_secrets())
    sign_in.write(ctx.data_dir.dashboard_key())
    return sign_in


@click.command("forwarder")
@global_options
def forwarder_command() -> None:
    """Run the forwarder's schedule as its own service (server mode) until SIGTERM."""
    ctx = context()
    configure_logging(ctx.config.server.log_level)
    run_forwarder(ctx.config.forwarder, ctx.warehouse, ctx.config.audit, ctx.data_dir, ctx.config.server.instance_id,
                  opt_out_sites(ctx.config.sites))
