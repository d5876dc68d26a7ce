"""The offline install: one archive made by `scripts/bundle` installs Sluice into a fresh virtualenv with no
network, and the installed Sluice runs; a changed wheel is refused."""

import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import unused_port
from tests.sluice.processes import env, wait_until_up

ROOT = Path(__file__).parents[2]
# Where pip would go if it tried the network: a closed port on loopback, so any attempt fails.
OFFLINE = {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The bundle made from this checkout for this Python, unpacked."""
    out = tmp_path_factory.mktemp("dist")
    made = subprocess.run([str(ROOT / "scripts" / "bundle"), str(out)], capture_output=True, text=True, timeout=1800,
                          env=env() | {"PYTHON": sys.executable})
    assert made.returncode == 0, made.stderr
    archive = Path(made.stdout.strip().splitlines()[-1])
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    (unpacked,) = [path for path in out.iterdir() if path.is_dir()]
    return unpacked


def _install(bundle: Path, venv: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(bundle / "install"), str(venv)], capture_output=True, text=True, timeout=900,
                          env=env() | OFFLINE | {"PYTHON": sys.executable})


def test_the_bundle_installs_with_no_network_and_the_installed_sluice_serves(bundle, tmp_path):
    installed = _install(bundle, tmp_path / "venv")
    assert installed.returncode == 0, installed.stderr
    public, internal = unused_port(), unused_port()
    served = subprocess.Popen(
        [str(tmp_path / "venv" / "bin" / "sluice"), "serve", "--data-dir", str(tmp_path / "data"), "--host",
         "127.0.0.1", "--public-port", str(public), "--internal-port", str(internal)],
        cwd=tmp_path, env=env() | OFFLINE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{internal}/healthz", served)
        assert httpx.get(f"http://127.0.0.1:{internal}/healthz").json()["warehouse"] == "ok"
        assert "sendBeacon" in httpx.get(f"http://127.0.0.1:{public}/t.js").text  # package data came along
    finally:
        served.send_signal(signal.SIGTERM)
        _, err = served.communicate(timeout=60)
    assert served.returncode == 0, err
    checked = subprocess.run([str(tmp_path / "venv" / "bin" / "python"), "-c",
                              "import importlib.resources as r, playwright, plotly, streamlit; "
                              "print(len(list(r.files('dashboard').joinpath('app_pages').glob('*.py'))))"],
                             capture_output=True, text=True, cwd=tmp_path, env=env())
    assert checked.returncode == 0 and int(checked.stdout) > 5, checked.stderr


def test_a_bundle_with_a_changed_wheel_is_refused(bundle, tmp_path):
    changed = tmp_path / "bundle"
    subprocess.run(["cp", "-r", str(bundle), str(changed)], check=True)
    wheel = next((changed / "wheels").glob("httpx-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    refused = _install(changed, tmp_path / "venv")
    assert refused.returncode == 1 and "does not match SHA256SUMS" in refused.stderr
    assert not (tmp_path / "venv").exists()


def test_a_bundle_for_another_python_says_so(bundle, tmp_path):
    other = tmp_path / "bundle"
    subprocess.run(["cp", "-r", str(bundle), str(other)], check=True)
    (other / "PYTHON").write_text("3.99 linux-x86_64\n")
    refused = _install(other, tmp_path / "venv")
    assert refused.returncode == 1 and "this bundle is for Python 3.99" in refused.stderr
