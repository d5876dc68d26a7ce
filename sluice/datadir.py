"""The data dir: the warehouse files, the lock that says a server holds them, the ops token and the keys."""

import base64
import binascii
import fcntl
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import msgspec

from dashboard.client import DASHBOARD_KEY_ENV
from sluice.errors import SluiceError
from warehouse import Warehouse, WarehouseSettings, open_warehouse
from warehouse.settings import AuditSettings

_LOCK = "sluice.lock"
_TOKEN = "ops-token"
_SERVER = "server.json"
_CONSENT_KEY = "consent-key"
CONSENT_KEY_ENV = "SLUICE_CONSENT_KEY"
"""Where collector hosts share one consent key (base64 of at least 32 bytes); else the data dir keeps it."""
_AUDIT_KEY = "audit-key"
AUDIT_KEY_ENV = "SLUICE_AUDIT_KEY"
"""Where the audit key is kept in server mode (base64 of at least 32 bytes), away from the warehouse's hosts."""
_AUDIT_ANCHORS = "audit-anchors.jsonl"
_DASHBOARD_KEY = "dashboard-key"
_DASHBOARD_SECRETS = "dashboard-secrets.toml"
_RESTORING = "restore-incomplete"
_KEY_BYTES = 32
BACKED_UP = (_AUDIT_KEY, _CONSENT_KEY, _DASHBOARD_KEY)
"""The files of a data dir that a backup keeps besides the warehouse and the spool (keys from the environment
are the operator's to keep)."""


class DataDirError(SluiceError):
    """The data dir cannot be used as asked."""


class DataDirBusy(DataDirError):
    """Another process holds the data dir."""


class ServerInfo(msgspec.Struct, frozen=True):
    pid: int
    internal_url: str


class Hold:
    """An exclusive hold on a data dir, released on close or process exit."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class DataDir:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    def hold(self) -> Hold:
        """Take the data dir for this process; raise `DataDirBusy` if a server or command has it."""
        self._create()
        try:
            fd = os.open(self.path / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        except PermissionError:
            raise DataDirError(f"cannot open {self.path / _LOCK}: run this command as the account that owns it") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirBusy(f"another sluice process is using {self.path}") from None
        if (self.path / _RESTORING).exists():
            os.close(fd)
            raise DataDirError(f"a restore into {self.path} did not finish, so it holds part of a backup: remove "
                               "the directory and run sluice restore again")
        return Hold(fd)

    def restoring(self) -> None:
        """Mark the data dir as being restored into: no command or server takes it until `restored`."""
        (self.path / _RESTORING).touch()

    def restored(self) -> None:
        (self.path / _RESTORING).unlink()

    def ops_token(self) -> str:
        """The secret that authenticates commands to the server; readable by the service account only."""
        try:
            return (self.path / _TOKEN).read_text().strip()
        except PermissionError:
            raise DataDirError(
                f"cannot read {self.path / _TOKEN}: run this command as the account that runs sluice serve"
            ) from None
        except FileNotFoundError:
            raise DataDirError(f"{self.path / _TOKEN} is missing: restart sluice serve to create it") from None

    def create_ops_token(self) -> str:
        """A fresh token for this server's lifetime, written with owner-only permissions."""
        path = self.path / _TOKEN
        token = secrets.token_urlsafe(32)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(token)
        return token

    def anchors(self, audit: AuditSettings) -> Path:
        """The file the audit chains' heads are anchored in."""
        return Path(audit.anchors) if audit.anchors else self.path / _AUDIT_ANCHORS

    def consent_key(self, env: Mapping[str, str] = os.environ) -> bytes:
        """The key that signs consent cookies: from the environment if set, else made once and kept here."""
        return self._key(CONSENT_KEY_ENV, _CONSENT_KEY, "every consent recorded so far must then be given again", env)

    def audit_key(self, env: Mapping[str, str] = os.environ) -> bytes:
        """The key that signs the audit log's entries and anchors: from the environment if set, else kept here."""
        return self._key(AUDIT_KEY_ENV, _AUDIT_KEY, "the audit log written so far then no longer verifies", env)

    def dashboard_key(self, env: Mapping[str, str] = os.environ) -> bytes:
        """The key the dashboard shows the internal API when it forwards a browser's address at login."""
        return self._key(DASHBOARD_KEY_ENV, _DASHBOARD_KEY, "running dashboards must then be restarted", env)

    def dashboard_secrets(self) -> Path:
        """Where the dashboard's sign-in secrets are written at each start (not backed up: the config remakes them)."""
        return self.path / _DASHBOARD_SECRETS

    def open_warehouse(self, settings: WarehouseSettings, audit: AuditSettings, *, chain: str,
                       migrate_as: str | None = None) -> Warehouse:
        """The warehouse, with audit entries on `chain` signed with the audit key and anchored as configured."""
        anchors = self.anchors(audit)
        return open_warehouse(settings, audit_key=self.audit_key(), audit_chain=chain, anchors=anchors,
                              migrate_as=migrate_as)

    def _key(self, env_name: str, file_name: str, loss: str, env: Mapping[str, str]) -> bytes:
        if env.get(env_name):
            try:
                key = base64.b64decode(env[env_name], validate=True)
            except binascii.Error:
                raise DataDirError(f"{env_name} is not base64") from None
            if len(key) < _KEY_BYTES:
                raise DataDirError(f"{env_name} holds {len(key)} bytes; make one of {_KEY_BYTES} with "
                                   "`openssl rand -base64 32`")
            return key
        self._create()
        path = self.path / file_name
        if not path.exists():
            # Written aside and linked into place: a crash leaves no half key, two processes keep one key.
            made = self.path / f".{file_name}.{os.getpid()}"
            fd = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(secrets.token_bytes(_KEY_BYTES))
                os.fsync(file.fileno())
            try:
                os.link(made, path)
            except FileExistsError:
                pass
            finally:
                made.unlink()
        return self._read_key(path, loss)

    def _read_key(self, path: Path, loss: str) -> bytes:
        try:
            key = path.read_bytes()
        except PermissionError:
            raise DataDirError(f"cannot read {path}: run sluice as the account that owns the data dir") from None
        if len(key) < _KEY_BYTES:
            raise DataDirError(f"{path} is damaged ({len(key)} bytes): restore it from a backup, or delete it to "
                               f"make a new key ({loss})")
        if path.stat().st_mode & 0o077:
            raise DataDirError(f"{path} is readable by other accounts: `chmod 600 {path}` (and consider it known)")
        return key

    def publish_server(self, internal_url: str) -> None:
        (self.path / _SERVER).write_bytes(msgspec.json.encode(ServerInfo(pid=os.getpid(), internal_url=internal_url)))

    def server(self) -> ServerInfo | None:
        """Where the server holding this data dir listens, once it has said so."""
        try:
            return msgspec.json.decode((self.path / _SERVER).read_bytes(), type=ServerInfo)
        except (FileNotFoundError, msgspec.DecodeError):
            return None

    def withdraw_server(self) -> None:
        (self.path / _SERVER).unlink(missing_ok=True)

    def _create(self) -> None:
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.path.stat().st_uid == os.getuid():
                self.path.chmod(0o700)  # an existing directory may have been made with looser rights
        except OSError as exc:
            raise DataDirError(f"cannot create the data dir {self.path}: {exc.strerror}") from None
