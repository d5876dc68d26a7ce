"""The dashboard in Streamlit's AppTest: login, and pages by role."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from litestar.testing import TestClient
from streamlit.testing.v1 import AppTest

from api import internal_app
from dashboard.client import Api
from dashboard.pages import pages_for
from tests.conftest import PASSWORD, serving
from warehouse.trackers import Finding, Trackers

APP = str(Path(__file__).parents[2] / "dashboard" / "app.py")


def _app(api_url: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30)
    app.session_state["api"] = Api(api_url)
    return app.run()


def _log_in(app: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    app.text_input[0].input(username)
    app.text_input[1].input(password)
    return app.button[0].click().run()


def test_the_login_page_comes_first(api_url):
    app = _app(api_url)
    assert not app.exception
    assert [t.value for t in app.title] == ["Sluice"]


def test_a_wrong_password_is_refused_on_the_page(api_url):
    app = _log_in(_app(api_url), "marketer", "not-the-password")
    assert "wrong username or password" in app.error[0].value
    assert "role" not in app.session_state


def test_logging_in_opens_the_overview_with_its_figures(api_url):
    app = _log_in(_app(api_url), "marketer")
    assert not app.exception
    assert app.session_state["role"] == "marketer"
    assert [t.value for t in app.title] == ["Overview"]
    assert [m.label for m in app.metric][:3] == ["Visitors", "Sessions", "Page views"]
    assert int(app.metric[0].value.replace(",", "")) > 0


@pytest.mark.parametrize(
    ("role", "sees", "does_not_see"),
    [
        ("marketer", {"Overview", "Realtime"}, {"Compliance", "Admin", "Explore events"}),
        ("analyst", {"Audience", "Explore events"}, {"Compliance", "Admin"}),
        ("compliance", {"Compliance", "Overview"}, {"Admin", "Explore events"}),
        ("admin", {"Compliance", "Admin", "Overview"}, set()),
    ],
)
def test_navigation_lists_only_the_roles_pages(role, sees, does_not_see):
    titles = {title for _, title, _ in pages_for(role)}
    assert sees <= titles and not (does_not_see & titles)


def test_a_page_outside_the_role_is_not_registered_at_all(api_url):
    app = _log_in(_app(api_url), "marketer")
    with pytest.raises(ValueError, match="Could not find a navigation page") as refused:
        app.switch_page("app_pages/compliance.py")
    assert "overview.py" in str(refused.value) and "admin.py" not in str(refused.value)


def test_the_compliance_page_shows_the_audit_log(api_url):
    app = _log_in(_app(api_url), "compliance")
    app.switch_page("app_pages/compliance.py").run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Compliance: audit log"]
    assert any("entries match" in caption.value for caption in app.caption)
    assert len(app.dataframe) == 1  # the audit log; the outbox is empty here
    assert any("Nothing has been forwarded" in info.value for info in app.info)


def test_an_analyst_explores_events_with_masked_identifiers(api_url):
    app = _log_in(_app(api_url), "analyst")
    app.switch_page("app_pages/explore.py").run()
    assert not app.exception and not app.error
    events = app.dataframe[0].value
    assert len(events) > 0 and {"visitor", "session", "network"} <= set(events.columns)
    assert events["network"].str.fullmatch(r"(\d+\.){3}0/24|").all()


@pytest.mark.parametrize(("slug", "title", "path"), pages_for("admin"))
def test_every_page_renders_for_an_admin(api_url, slug, title, path):
    app = _log_in(_app(api_url), "admin")
    app.switch_page(path).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert app.title[0].value.startswith(title.split(" ")[0])


def test_an_admin_reads_the_values_to_declare_for_the_forwarder(api_url):
    app = _log_in(_app(api_url), "admin")
    app.switch_page("app_pages/dimension_values.py").run()
    assert not app.exception and not app.error
    assert [s.value for s in app.subheader] == ["utm_source", "utm_medium", "utm_campaign", "utm_content"]
    sources = app.dataframe[0].value
    assert "google" in set(sources["value"]) and (sources["visitors"] > 0).all()
    assert any(code.value.startswith("utm_source = [") for code in app.code)


def test_logging_out_revokes_the_token_and_returns_to_the_login(api_url):
    app = _log_in(_app(api_url), "analyst")
    api = app.session_state["api"]
    token = api.token
    app.sidebar.button[0].click().run()
    assert [t.value for t in app.title] == ["Sluice"]
    assert httpx.get(f"{api_url}/api/session", headers={"authorization": f"Bearer {token}"}).status_code == 401


def test_the_trackers_page_shows_known_trackers_first_and_pages_a_flood(warehouse):
    Trackers(warehouse.client).record(
        [Finding(scan_id="", site="default", page="/", host=host, vendor="", kind="csp", source="csp",
                 seen_at=datetime.now(UTC) - timedelta(minutes=age))
         for host, age in [("connect.facebook.net", 60)] + [(f"x{n}.flood.example", 0) for n in range(120)]],
        token="flood")
    app = internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST))
    with TestClient(app) as setup:
        setup.post("/api/ops/users", json={"username": "admin", "role": "admin", "password": PASSWORD},
                   headers={"authorization": "Bearer ops"}).raise_for_status()
    with serving(app) as url:
        page = _log_in(_app(url), "admin")
        page.switch_page("app_pages/trackers.py").run()
        assert not page.exception and not page.error
        assert [m.value for m in page.metric][:2] == ["121", "121"]
        assert page.dataframe[0].value["host"].iloc[0] == "connect.facebook.net"
        assert page.number_input[0].label == "Page (of 2)"
        page.number_input[0].set_value(2).run()
        assert len(page.dataframe[0].value) == 21
