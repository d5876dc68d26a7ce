"""One embedded ClickHouse engine per test process, a fresh database in it for each test, and the API."""

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from api import internal_app
from collector import demo
from api.accounts import Role
from api.logins import AddressLimit
from warehouse import Warehouse, WarehouseSettings, open_warehouse
from warehouse.reports import refresh_cells


@contextmanager
def demo_database(engine_path: Path, events: int, days: int, site: str, seed: int) -> Iterator[Warehouse]:
    """A database of its own in the shared engine, holding demo traffic; dropped afterwards."""
    database = f"demo_{uuid.uuid4().hex[:8]}"
    warehouse = open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database={database}"), migrate_as="test", audit_key=AUDIT_KEY)
    demo.load(warehouse, events, days=days, site=site, seed=seed)
    refresh_cells(warehouse.client, site)
    try:
        yield warehouse
    finally:
        warehouse.client.command(f"DROP DATABASE `{database}`")
        warehouse.close()


CONSENT_KEY = bytes(range(32))
"""The key public apps in tests sign consent cookies with."""
AUDIT_KEY = b"the audit key of the tests, 32 b"
"""The key that signs the audit entries of every warehouse the tests open."""


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
    opened = open_warehouse(warehouse_settings, migrate_as="test", audit_key=AUDIT_KEY)
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


PASSWORD = "violet-Harbor-93-kite"


@pytest.fixture(scope="session")
def api_url(engine_path) -> Iterator[str]:
    """The internal API on a real loopback port, over demo data, with one user per role."""
    database = f"dash_{uuid.uuid4().hex[:8]}"
    warehouse = open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database={database}"), migrate_as="test", audit_key=AUDIT_KEY)
    demo.load(warehouse, 5_000, days=30, site="default", seed=2)
    app = internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    app.state.login_limiter = AddressLimit("1000/minute")  # every dashboard test logs in from loopback
    with TestClient(app) as setup:
        for role in Role:
            setup.post("/api/ops/users", json={"username": role.value, "role": role.value, "password": PASSWORD},
                       headers={"authorization": "Bearer ops"}).raise_for_status()
    with serving(app) as url:
        yield url
    warehouse.close()


@pytest.fixture(scope="session")
def role_tokens(api_url) -> dict[str, str]:
    """A login per role for the whole run, for tests that need a signed-in page rather than the login itself."""
    from dashboard.client import Api

    return {role.value: Api(api_url).log_in(role.value, PASSWORD)["token"] for role in Role}


@contextmanager
def serving(app) -> Iterator[str]:
    """An ASGI app on a real loopback port, in a thread of this process; yields its URL."""
    port = unused_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
