"""The internal API on a real loopback port, over demo data, for the dashboard to read."""

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import uvicorn
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient

from collector import demo, internal_app
from collector.accounts import Role
from tests.conftest import unused_port
from warehouse import WarehouseSettings, open_warehouse

PASSWORD = "violet-Harbor-93-kite"


@pytest.fixture(scope="session")
def api_url(engine_path) -> Iterator[str]:
    database = f"dash_{uuid.uuid4().hex[:8]}"
    warehouse = open_warehouse(WarehouseSettings(dsn=f"chdb://{engine_path}?database={database}"), migrate_as="test")
    demo.load(warehouse, 5_000, days=30, site="default", seed=2)
    app = internal_app(warehouse, "ops", ["default"], PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as setup:
        for role in Role:
            setup.post("/api/ops/users", json={"username": role.value, "role": role.value, "password": PASSWORD},
                       headers={"authorization": "Bearer ops"}).raise_for_status()
    port = unused_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    warehouse.close()
