"""The data dir: the warehouse files, the lock that says a server holds them, and the ops token."""

import fcntl
import os
import secrets
from pathlib import Path

import msgspec

from sluice.errors import SluiceError

_LOCK = "sluice.lock"
_TOKEN = "ops-token"
_SERVER = "server.json"


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
        return Hold(fd)

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
