"""The `sluice` command line."""

import asyncio
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import click
import msgspec
from clickhouse_connect.driver.exceptions import ClickHouseError

from sluice.config import Config, ConfigError, find_config, load_config
from sluice.datadir import DataDir, DataDirError
from sluice.logs import configure_logging
from sluice.ops import OpsError, checked, ops_client
from sluice.serve import Listener, Plan, ServeError, serve
from warehouse import WarehouseError, WarehouseSettings, embedded_dsn
from warehouse.errors import first_line

_FAILURES = (ClickHouseError, DataDirError, OpsError, ServeError, WarehouseError)
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


@cli.command("serve")
@global_options
@click.option("--host", help="Public listener address (default from config: 0.0.0.0).")
@click.option("--public-port", type=click.IntRange(1, 65535), help="Public listener port (default 8400).")
@click.option("--internal-port", type=click.IntRange(1, 65535), help="Internal listener port (default 8401).")
def serve_command(host: str | None, public_port: int | None, internal_port: int | None) -> None:
    """Run the public and internal listeners until SIGTERM."""
    ctx = _context()
    server = ctx.config.server
    configure_logging(server.log_level)
    serve(Plan(
        data_dir=ctx.data_dir,
        warehouse=ctx.warehouse,
        collector=ctx.config.collector,
        sites=ctx.config.sites,
        public=Listener("public", host or server.host, public_port or server.public_port),
        internal=Listener("internal", server.internal_host, internal_port or server.internal_port),
    ))


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


@cli.group("audit")
@global_options
def audit_group() -> None:
    """Work with the audit log."""


@audit_group.command("verify")
@global_options
def audit_verify_command() -> None:
    """Re-walk the audit log's hash chain; exit 1 at the first broken link."""
    result = _call("POST", "/api/ops/audit/verify", existing=True)
    if result["intact"]:
        click.echo(f"audit log intact: {result['checked']} entries verified")
        return
    broken = result["broken"]
    raise _Failure(f"audit log broken at entry {broken['seq']}: {broken['reason']} ({result['checked']} entries before it verified)")


def _call(method: str, path: str, *, migrate: bool = True, existing: bool = False) -> dict[str, Any]:
    """Call the internal API, through the server if one holds the data dir."""
    ctx = _context()

    async def call() -> dict[str, Any]:
        async with ops_client(ctx.data_dir, ctx.warehouse, migrate=migrate, existing=existing) as client:
            return checked(await client.request(method, path)).json()

    return asyncio.run(call())


def main() -> None:
    cli.main(prog_name="sluice")
