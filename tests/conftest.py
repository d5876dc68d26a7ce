"""One embedded ClickHouse engine per test process, and a fresh database in it for each test."""

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from warehouse import Warehouse, WarehouseSettings, open_warehouse


@pytest.fixture(scope="session")
def engine_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine") / "warehouse"


@pytest.fixture
def database() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def warehouse_settings(engine_path: Path, database: str) -> WarehouseSettings:
    return WarehouseSettings(dsn=f"chdb://{engine_path}?database={database}")


@pytest.fixture
def warehouse(warehouse_settings: WarehouseSettings, database: str) -> Iterator[Warehouse]:
    opened = open_warehouse(warehouse_settings, migrate_as="test")
    yield opened
    opened.client.command(f"DROP DATABASE IF EXISTS `{database}`")
    opened.close()


@pytest.fixture
def free_port() -> int:
    return unused_port()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
