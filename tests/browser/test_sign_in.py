"""A real browser signs in to the dashboard through the organisation's OpenID Connect provider's own login page
(a real provider on loopback): the role comes from the provider's groups, someone in none is kept out."""

import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, profiles

from api import internal_app
from api.accounts import GroupRole
from api.directory import LoginSettings
from api.openid import OidcSettings
from sluice import dashboard
from tests.browser.conftest import dashboard_serving
from tests.conftest import serving, unused_port
from tests.openid import CLIENT_ID, CLIENT_SECRET, PEOPLE, provider

SECRET_ENV = "SLUICE_TEST_OIDC_SECRET"
LABEL = "Example Hospital login"


@pytest.fixture(scope="module")
def dashboard_port() -> int:
    return unused_port()


@pytest.fixture(scope="module")
def idp(tmp_path_factory, dashboard_port):
    with provider(tmp_path_factory.mktemp("idp"), [f"http://127.0.0.1:{dashboard_port}/oauth2callback"],
                  tls=True) as running:
        yield running


@pytest.fixture
def dashboard_url(warehouse, idp, dashboard_port, tmp_path) -> Iterator[str]:
    settings = OidcSettings(issuer=idp.issuer, client_id=CLIENT_ID, client_secret_env=SECRET_ENV, label=LABEL,
                            redirect_uri=f"http://127.0.0.1:{dashboard_port}/oauth2callback",
                            scopes=["openid", "profile", "groups"], ca_file=str(idp.ca_file),
                            roles=[GroupRole("sluice-admins", "admin"), GroupRole("sluice-analysts", "analyst")])
    app = internal_app(warehouse, "ops", ["default"], hasher=PasswordHasher.from_parameters(profiles.CHEAPEST),
                       login=LoginSettings(oidc=settings))
    sign_in, key = dashboard.SignIn(settings, tmp_path / "dashboard-secrets.toml"), b"k" * 32
    sign_in.write(key, {SECRET_ENV: CLIENT_SECRET})
    with serving(app) as api_url, dashboard_serving(dashboard_port,
                                                    dashboard.command(dashboard_port, "127.0.0.1", sign_in=sign_in),
                                                    dashboard.environment(api_url, key, sign_in=sign_in)) as url:
        yield url


def _signed_in(browser, dashboard_url: str, issuer: str, login: str):
    """A new page, through the provider's login page as `login`, back on the dashboard."""
    # The dashboard's server checks the provider's certificate against the CA made for it; the browser is told to
    # accept it. The provider's page asks for a web font: nothing leaves the box.
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, ignore_https_errors=True)
    page.route("**/*", lambda route: route.continue_() if "://127.0.0.1:" in route.request.url else route.abort())
    page.goto(dashboard_url)
    if os.environ.get("SLUICE_SCREENSHOTS"):
        page.get_by_role("button", name=f"Sign in with {LABEL}").wait_for(timeout=30_000)
        page.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], "sign-in.png"))
    page.get_by_role("button", name=f"Sign in with {LABEL}").click()
    page.locator("input[name=login]").wait_for(timeout=30_000)
    assert page.url.startswith(f"{issuer}/interaction/")  # the provider's own page, not the dashboard's
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(PEOPLE[login]["password"])
    page.get_by_role("button", name="Sign-in").click()
    return page


def test_sign_in_through_the_providers_login_page_with_the_role_of_ones_groups(browser, dashboard_url, idp, warehouse):
    page = _signed_in(browser, dashboard_url, idp.issuer, "ana")
    page.get_by_text("ana (analyst)").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Overview").wait_for(timeout=30_000)
    assert page.get_by_text("Compliance", exact=True).count() == 0  # not this role's page
    entries, _ = warehouse.audit.search(action="session.login", limit=1)
    assert entries[0].actor == "user:ana" and entries[0].outcome == "success"
    assert "_streamlit_user" in {cookie["name"] for cookie in page.context.cookies(dashboard_url)}
    if os.environ.get("SLUICE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], "signed-in.png"))

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{idp.issuer}/**", timeout=30_000)  # the provider's end-session page: a workstation may be shared
    assert not {cookie["name"] for cookie in page.context.cookies(dashboard_url)} & {"_streamlit_user",
                                                                                     "_streamlit_user_tokens"}
    page.goto(dashboard_url)
    page.get_by_role("button", name=f"Sign in with {LABEL}").wait_for(timeout=30_000)
    assert page.get_by_text("ana (analyst)").count() == 0
    page.close()


def test_someone_in_no_mapped_group_is_told_to_ask_it_and_sees_no_page(browser, dashboard_url, idp):
    page = _signed_in(browser, dashboard_url, idp.issuer, "nobody")
    page.get_by_text("none of your groups at the identity provider gives a Sluice role").wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="Overview").count() == 0
    page.close()


def test_a_name_sluice_does_not_take_is_told_why(browser, dashboard_url, idp):
    page = _signed_in(browser, dashboard_url, idp.issuer, "zoë")  # not plain ASCII: could pass for another's
    page.get_by_text("your name at the identity provider is not one Sluice takes").wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="Overview").count() == 0
    page.close()


def test_a_reload_after_signing_in_does_not_replay_the_sign_in(browser, dashboard_url, idp):
    """The ID token in the browser's cookie was taken once: a new page needs a new sign-in, not the old token."""
    page = _signed_in(browser, dashboard_url, idp.issuer, "ana")
    page.get_by_text("ana (analyst)").wait_for(timeout=30_000)
    page.reload()
    page.get_by_role("button", name=f"Sign in with {LABEL}").wait_for(timeout=30_000)
    assert page.get_by_text("ana (analyst)").count() == 0
    page.close()
