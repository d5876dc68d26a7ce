"""The packages and the one way their dependencies point, read from the source's imports."""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each package may import of the others: sluice composes; api may use forwarder, scanner and mail.
ALLOWED = {
    "sluice": {"api", "collector", "forwarder", "scanner", "mail", "dashboard", "warehouse"},
    "api": {"forwarder", "scanner", "mail", "warehouse"},
    "collector": {"warehouse"},
    "forwarder": {"warehouse"},
    "scanner": {"warehouse"},
    "mail": {"warehouse"},
    "dashboard": set(),
    "warehouse": set(),
}
ROOT_ERRORS = {
    "api": "api.errors.ApiError",
    "collector": "collector.errors.CollectorError",
    "dashboard": "dashboard.client.DashboardError",
    "forwarder": "forwarder.errors.ForwarderError",
    "mail": "mail.errors.MailError",
    "scanner": "scanner.errors.ScannerError",
    "sluice": "sluice.errors.SluiceError",
    "warehouse": "warehouse.errors.WarehouseError",
}


def test_every_package_on_disk_has_its_place_in_the_layout():
    on_disk = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert on_disk == ALLOWED.keys() == ROOT_ERRORS.keys()


def _imports(package: str) -> dict[str, set[str]]:
    """Module file -> the project packages it imports (anywhere in the file, lazy imports included)."""
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args:
                names.add(ast.literal_eval(node.args[0]).split(".")[0])
        found[str(path.relative_to(ROOT))] = names & ALLOWED.keys() - {package}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_it_may(package):
    forbidden = {module: sorted(names - ALLOWED[package]) for module, names in _imports(package).items()
                 if names - ALLOWED[package]}
    assert forbidden == {}


def test_the_dashboard_reaches_data_only_through_the_api_over_http():
    assert all(not names for names in _imports("dashboard").values())
    source = "\n".join(path.read_text() for path in (ROOT / "dashboard").rglob("*.py"))
    assert "clickhouse_connect" not in source and "import httpx" in source


def _modules(package: str):
    yield importlib.import_module(package)
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
        # Streamlit scripts and `__main__` run when imported.
        if not info.name.startswith(("dashboard.app", "dashboard.app_pages")) and not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


@pytest.mark.parametrize("package", sorted(ROOT_ERRORS))
def test_every_error_a_package_defines_derives_from_its_root(package):
    module, _, name = ROOT_ERRORS[package].rpartition(".")
    root = getattr(importlib.import_module(module), name)
    strays = {f"{m.__name__}.{cls.__name__}" for m in _modules(package)
              for cls in vars(m).values()
              if inspect.isclass(cls) and issubclass(cls, Exception) and cls.__module__ == m.__name__
              and not issubclass(cls, root)}
    assert strays == set()
