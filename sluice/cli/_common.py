"""What every command shares: the global options, the config and data dir they name, and one-line failures."""

import asyncio
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import click
import msgspec
from clickhouse_connect.driver.exceptions import ClickHouseError

from forwarder.errors import ForwarderError
from scanner.errors import ScannerError
from sluice.config import Config, ConfigError, find_config, load_config
from sluice.datadir import DataDir
from sluice.errors import SluiceError
from sluice.ops import checked, ops_client
from warehouse import WarehouseError, WarehouseSettings, embedded_dsn
from warehouse.errors import first_line

_FAILURES = (ClickHouseError, ForwarderError, ScannerError, SluiceError, WarehouseError)
_INVALID_CONFIG = 2


class Failure(SluiceError, click.ClickException):
    """One clear line on stderr and a non-zero exit, never a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        message = self.format_message()
        click.echo(message if "\n" in message else f"sluice: {message}", err=True)


class Group(click.Group):
    """A command group whose commands fail with one line: a config's problems, or the error's first line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ConfigError as exc:
            raise Failure(str(exc), _INVALID_CONFIG) from None
        except _FAILURES as exc:
            raise Failure(first_line(exc)) from None
        except Exception as exc:
            if os.environ.get("SLUICE_DEBUG"):
                raise
            raise Failure(f"unexpected {type(exc).__name__}: {first_line(exc)} (set SLUICE_DEBUG=1 for details)") from None


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


class Context(NamedTuple):
    config: Config
    data_dir: DataDir

    @property
    def warehouse(self) -> WarehouseSettings:
        settings = self.config.warehouse
        return settings if settings.dsn else msgspec.structs.replace(settings, dsn=embedded_dsn(self.data_dir.path))


def context() -> Context:
    """The config and data dir the command line names, else the environment's, else the defaults."""
    meta = click.get_current_context().meta
    data_dir = meta.get("sluice.data_dir") or Path(os.environ.get("SLUICE_DATA_DIR") or ".sluice")
    return Context(config=load_config(find_config(meta.get("sluice.config"))), data_dir=DataDir(data_dir))


def config_path() -> Path | None:
    return find_config(click.get_current_context().meta.get("sluice.config"))


def call(method: str, path: str, *, json: Any = None, migrate: bool = True, existing: bool = False) -> Any:
    """Call the internal API, through the server if one holds the data dir."""
    ctx = context()

    async def request() -> Any:
        async with ops_client(ctx.data_dir, ctx.warehouse, migrate=migrate, existing=existing,
                              forwarder=ctx.config.forwarder, scanner=ctx.config.scanner,
                              instance=ctx.config.server.instance_id, tls=ctx.config.server.tls, sites=ctx.config.sites,
                              audit=ctx.config.audit) as client:
            return checked(await client.request(method, path, json=json)).json()

    return asyncio.run(request())
