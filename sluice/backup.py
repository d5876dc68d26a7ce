"""Backups that restore: the warehouse by the engine's own BACKUP, the spool and the keys, with a manifest.

A backup is a directory: `warehouse/` (ClickHouse's BACKUP of the database), `spool/` (the segments not yet
stored), `keys/` (the keys that the audit chain and consent cookies need, and the audit anchors), and
`manifest.json` (every file's SHA-256, every table's row count). The spool writer waits while the tables
and the spool are copied, so each event is in one of them, never both or neither. A restore checks every
checksum first and goes only into an empty data dir.
"""

import hashlib
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import msgspec

from api.errors import BackupRefused
from api.ops import BackupMade
from sluice.datadir import BACKED_UP, DataDir
from sluice.errors import SluiceError
from warehouse import Warehouse, WarehouseSettings, connect, parse_dsn

MANIFEST = "manifest.json"
_SCHEDULED = "sluice-"
_ANCHORS = "audit-anchors.jsonl"
"""The audit anchors' name in a backup's `keys/`, wherever the config keeps them."""
_CHUNK = 1 << 20
Progress = Callable[[int], object]
"""Told how many more bytes were read, for a progress bar."""


class BackupSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[backup]`: a backup every day into a directory, the newest kept."""

    directory: Annotated[str, msgspec.Meta(pattern="^(/.*)?$", description="an absolute path, or empty")] = ""
    """Where the daily backups go (and `sluice backup` without a destination), outside the data dir; empty: none."""
    hour: Annotated[int, msgspec.Meta(ge=0, le=23)] = 2
    """The hour of the day (UTC) it is taken."""
    keep: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 7
    """Backups kept in `directory`: each new one removes the oldest beyond this many."""


class BackupError(SluiceError):
    """A backup cannot be made or restored as asked."""


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    created_at: datetime
    sluice: str
    """The version that made it."""
    database: str
    tables: dict[str, int]
    """Row count per table just before it was taken."""
    tables_after: dict[str, int]
    """And just after: other writers (the audit log, leases) go on while the spool writer waits, and merges
    fold rows, so a restored table's count lies between the two."""
    files: dict[str, str]
    """SHA-256 of every file, by its path in the backup."""


def back_up(warehouse: Warehouse, data_dir: DataDir, anchors: Path, destination: Path) -> Manifest:
    """Write a backup of `data_dir` and its warehouse into `destination`, a new or empty directory."""
    if not warehouse.dsn.embedded:
        raise BackupError("sluice backup copies an embedded warehouse; back up a ClickHouse server with its own "
                          "BACKUP (see the README) and copy the keys")
    destination = destination.resolve()
    if destination.exists() and not destination.is_dir():
        raise BackupError(f"{destination} is a file: name a new directory for each backup")
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: name a new directory for each backup")
    if destination.is_relative_to(data_dir.path):
        raise BackupError(f"{destination} is inside the data dir {data_dir.path}: put backups elsewhere")
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    (destination / "keys").mkdir()
    for name in BACKED_UP:
        if (data_dir.path / name).is_file():
            shutil.copy2(data_dir.path / name, destination / "keys" / name)
    if anchors.is_file():  # before the tables: an anchor newer than the copied chain would read as a rollback
        shutil.copy2(anchors, destination / "keys" / _ANCHORS)
    with warehouse.writing:
        before = _row_counts(warehouse)
        warehouse.client.command(f"BACKUP DATABASE `{warehouse.dsn.database}` TO File({{where:String}})",
                                 parameters={"where": str(destination / "warehouse")})
        after = _row_counts(warehouse)
        _copy_spool(data_dir.path / "spool", destination / "spool")
    manifest = Manifest(created_at=datetime.now(UTC), sluice=version("sluice"), database=warehouse.dsn.database,
                        tables=before, tables_after=after,
                        files={str(p.relative_to(destination)): _sha256(p) for p in _files(destination)})
    (destination / MANIFEST).write_bytes(msgspec.json.format(msgspec.json.encode(manifest)))
    return manifest


def maker(data_dir: DataDir, anchors: Path) -> Callable[[Warehouse, Path], BackupMade]:
    """The internal API's way to back up this data dir (`api.ops.BackupMaker`)."""
    def make(warehouse: Warehouse, destination: Path) -> BackupMade:
        try:
            manifest = back_up(warehouse, data_dir, anchors, destination)
        except BackupError as exc:
            raise BackupRefused(str(exc)) from None
        except OSError as exc:  # not writable (under systemd: not in the unit's ReadWritePaths), disk full
            raise BackupRefused(f"cannot write the backup to {destination}: {exc.strerror or exc}") from None
        return BackupMade(destination=str(destination.resolve()), tables=manifest.tables, files=len(manifest.files),
                          bytes=size(destination))
    return make


def verify(source: Path, progress: Progress = lambda _: None) -> Manifest:
    """The backup's manifest, once every file in it is there with its checksum; else a `BackupError`."""
    try:
        manifest = msgspec.json.decode((source / MANIFEST).read_bytes(), type=Manifest)
    except FileNotFoundError:
        raise BackupError(f"{source} has no {MANIFEST}: not a Sluice backup, or an unfinished one") from None
    except msgspec.DecodeError as exc:
        raise BackupError(f"{source / MANIFEST} is damaged: {exc}") from None
    if any(path.is_symlink() for path in source.rglob("*")):
        raise BackupError(f"{source} holds a symbolic link: a backup is plain files only")
    unlisted = sorted({str(path.relative_to(source)) for path in _files(source)} - {MANIFEST} - manifest.files.keys())
    if unlisted:
        raise BackupError(f"{source} holds files its manifest does not list ({', '.join(unlisted[:3])}): not restored")
    for name, expected in manifest.files.items():
        path = source / name
        if not path.is_file():
            raise BackupError(f"{path} is missing from the backup")
        if _sha256(path, progress) != expected:
            raise BackupError(f"{path} does not match its checksum in the manifest: the backup is damaged")
    return manifest


def size(source: Path) -> int:
    """Bytes a `verify` of the backup reads."""
    return sum(path.stat().st_size for path in _files(source) if path.name != MANIFEST)


def restore(source: Path, data_dir: DataDir, settings: WarehouseSettings, anchors: Path,
            progress: Progress = lambda _: None) -> Manifest:
    """Restore a verified backup into `data_dir`, which must be empty; check every table's row count after."""
    manifest = verify(source, progress)
    if data_dir.path.exists() and any(p.name != "sluice.lock" for p in data_dir.path.iterdir()):
        raise BackupError(f"{data_dir.path} is not empty: restore into a new data dir")
    dsn = parse_dsn(settings.dsn)
    if not dsn.embedded:
        raise BackupError("sluice restore fills an embedded warehouse; restore a ClickHouse server with RESTORE")
    keys = [source / name for name in manifest.files if name.startswith("keys/")]
    unknown = sorted(key.name for key in keys if key.name not in (*BACKED_UP, _ANCHORS))
    if unknown:
        raise BackupError(f"the backup's keys/ holds files Sluice never writes there ({', '.join(unknown)}): not restored")
    data_dir.restoring()  # until the end: a restore cut short leaves a data dir nothing will use
    for key in keys:
        target = anchors if key.name == _ANCHORS else data_dir.path / key.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(key, target)
    if (source / "spool").is_dir():
        shutil.copytree(source / "spool", data_dir.path / "spool")
    client = connect(settings)
    try:
        client.command(f"RESTORE DATABASE `{manifest.database}` AS `{dsn.database}` FROM File({{where:String}})",
                       parameters={"where": str(source.resolve() / "warehouse")})
        client.database = dsn.database
        restored = {table: client.command(f"SELECT count() FROM `{table}`") for table in manifest.tables}
    finally:
        client.close()
    differing = sorted(table for table, rows in manifest.tables.items()
                       if not min(rows, manifest.tables_after[table]) <= restored[table]
                       <= max(rows, manifest.tables_after[table]))
    if differing:
        raise BackupError(f"restored tables differ from the backup in their row counts: {', '.join(differing)}")
    data_dir.restored()
    return manifest


def _row_counts(warehouse: Warehouse) -> dict[str, int]:
    rows = warehouse.client.query(
        "SELECT name, total_rows FROM system.tables WHERE database = {db:String} AND total_rows IS NOT NULL",
        parameters={"db": warehouse.dsn.database}).result_rows
    return dict(rows)


def _copy_spool(spool: Path, target: Path) -> None:
    """Copy the spool as it is: a segment closed while being copied is found under its closed name."""
    for path in sorted(spool.rglob("*")) if spool.is_dir() else []:
        copy = target / path.relative_to(spool)
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        for name in (path, path.with_suffix(".seg")):
            try:
                shutil.copy2(name, copy.with_name(name.name))
                break
            except FileNotFoundError:
                continue


def _files(root: Path) -> Iterator[Path]:
    return (path for path in sorted(root.rglob("*")) if path.is_file())


def _sha256(path: Path, progress: Progress = lambda _: None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            progress(len(chunk))
    return digest.hexdigest()


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` finished daily backups in `directory`; return them. Backups named by
    hand there are left alone."""
    finished = sorted((p for p in directory.glob(f"{_SCHEDULED}*") if (p / MANIFEST).is_file()), key=lambda p: p.name)
    removed = finished[:-keep] if keep else finished
    for path in removed:
        shutil.rmtree(path)
    return removed


def scheduled_destination(directory: Path) -> Path:
    """Where a scheduled backup goes: a directory named by its time, so that names sort by age."""
    return directory / datetime.now(UTC).strftime(f"{_SCHEDULED}%Y%m%dT%H%M%SZ")

