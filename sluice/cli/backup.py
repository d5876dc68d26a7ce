"""`sluice backup` and `sluice restore`: a backup that is checked as it is written, and restored only whole."""

from pathlib import Path

import click
from tqdm import tqdm

from sluice.backup import BackupError, restore, scheduled_destination, size, verify
from sluice.cli._common import Failure, call, context, global_options


@click.command("backup")
@global_options
@click.argument("destination", required=False, type=click.Path(file_okay=False, path_type=Path))
def backup_command(destination: Path | None) -> None:
    """Back up the warehouse, the spool and the keys into DESTINATION, a new directory (default: one named by
    the time in backup.directory), then read it back against its checksums."""
    ctx = context()
    if destination is None:
        if not ctx.config.backup.directory:
            raise Failure("name a DESTINATION directory, or set backup.directory in the config", exit_code=2)
        destination = scheduled_destination(Path(ctx.config.backup.directory))
    made = call("POST", "/api/ops/backup", json={"destination": str(destination.resolve())}, existing=True)
    where = Path(made["destination"])
    try:
        with tqdm(total=size(where), unit="B", unit_scale=True, desc="checking the backup") as bar:
            verify(where, bar.update)
    except BackupError as exc:
        raise Failure(str(exc)) from None
    click.echo(f"backup written to {where}: {sum(made['tables'].values()):,} rows in {len(made['tables'])} tables, "
               f"{made['files']} files, every checksum read back")


@click.command("restore")
@global_options
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(source: Path) -> None:
    """Restore the backup in SOURCE into the data dir, which must be empty; every checksum is checked first."""
    ctx = context()
    with ctx.data_dir.hold():  # no server or command has it meanwhile
        try:
            with tqdm(total=size(source), unit="B", unit_scale=True, desc="checking the backup") as bar:
                manifest = restore(source, ctx.data_dir, ctx.warehouse, ctx.data_dir.anchors(ctx.config.audit),
                                   bar.update)
        except BackupError as exc:
            raise Failure(str(exc)) from None
        warehouse = ctx.data_dir.open_warehouse(ctx.warehouse, ctx.config.audit, chain=ctx.config.server.instance_id,
                                                migrate_as="sluice restore")
        warehouse.audit.record("sluice restore", "backup.restore", str(source.resolve()),
                               detail={"created_at": manifest.created_at.isoformat(), "tables": manifest.tables})
        warehouse.close()
    click.echo(f"restored {sum(manifest.tables.values()):,} rows in {len(manifest.tables)} tables from {source} "
               f"(made {manifest.created_at:%Y-%m-%d %H:%M} UTC by Sluice {manifest.sluice}) into {ctx.data_dir.path}")
