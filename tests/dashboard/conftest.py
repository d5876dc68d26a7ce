"""Fixtures for the dashboard tests live in tests/conftest.py (the browser tests share them), but for the one
that opens a page already signed in."""

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.client import Api
from tests.dashboard.test_app import APP


@pytest.fixture
def dashboard(api_url, role_tokens):
    """Open a page as a signed-in user of `role`, with `url` as the page's query parameters."""
    def opened(role: str, page: str = "app_pages/overview.py", **url) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=30)
        for key, value in {"api": Api(api_url, role_tokens[role]), "role": role, "username": role}.items():
            app.session_state[key] = value
        for key, value in url.items():
            app.query_params[key] = value
        app.run()
        if page != "app_pages/overview.py":
            app.switch_page(page).run()
        assert not app.exception and not app.error, app.exception or [e.value for e in app.error]
        return app
    return opened
