"""`sluice scan` and `sluice csp-policy`, as an administrator runs them."""

import re

from tests.scanner.conftest import PLANTED, Site
from tests.sluice.processes import sluice

CONFIG = """
[[sites]]
id = "main"
origins = ["{url}"]

[[scanner.allowed]]
host = "allowed-cdn.example"
vendor = "Allowed CDN"
baa_signed = 2025-03-01
"""


def test_scanning_the_fixture_site_lists_every_planted_tracker_and_nothing_else(tmp_path):
    site = Site()
    try:
        config = tmp_path / "sluice.toml"
        config.write_text(CONFIG.format(url=site.url))
        scanned = sluice("--config", str(config), "--data-dir", str(tmp_path / "data"), "scan", site.url + "/")
        again = sluice("--config", str(config), "--data-dir", str(tmp_path / "data"), "scan", site.url + "/")
    finally:
        site.close()
    assert scanned.returncode == 0, scanned.stderr
    rows = [line.split() for line in scanned.stdout.splitlines() if line.startswith(site.url)]
    listed = {(row[0].removeprefix(site.url), row[1], row[-2]) for row in rows}
    assert listed == {(page, host, kind) for page, host, _, kind in PLANTED}
    assert [row[-1] for row in rows if row[1] == "fonts.allowed-cdn.example"] == ["yes"]
    assert all(row[-1] == "NO" for row in rows if row[1] != "fonts.allowed-cdn.example")
    assert "scanning main" in scanned.stderr  # the progress bar
    assert len(re.findall(r"^new since the last scan", scanned.stdout, re.M)) == 7
    assert len(re.findall(r"^alert: ", scanned.stdout, re.M)) == 6
    assert again.returncode == 0 and "new since" not in again.stdout and "alert:" not in again.stdout


def test_the_csp_policy_allows_the_sites_origins_and_allowed_vendors(tmp_path):
    config = tmp_path / "sluice.toml"
    config.write_text(CONFIG.format(url="https://www.example-hospital.org"))
    printed = sluice("--config", str(config), "csp-policy", "--report-uri", "https://www.example-hospital.org/csp-report")
    assert printed.returncode == 0, printed.stderr
    policy = printed.stdout.splitlines()[0]
    assert policy.startswith("Content-Security-Policy-Report-Only: default-src 'self' https://www.example-hospital.org")
    assert "https://*.allowed-cdn.example" in policy and "report-uri https://www.example-hospital.org/csp-report" in policy
    assert printed.stdout.splitlines()[1] == 'Reporting-Endpoints: csp="https://www.example-hospital.org/csp-report"'
