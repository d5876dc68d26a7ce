"""Starting the dashboard with single sign-on: its secrets written for the owner only, and a missing client
secret named before anything starts."""

import stat
import tomllib

import pytest

from api.accounts import GroupRole
from api.openid import OidcSettings
from sluice import dashboard
from sluice.errors import SecretMissing

SETTINGS = OidcSettings(issuer="https://login.example-hospital.org/realms/staff", client_id="sluice",
                        client_secret_env="SLUICE_OIDC_SECRET",
                        redirect_uri="https://sluice.example-hospital.org/oauth2callback",
                        label="Hospital login", scopes=["openid", "profile", "groups"], roles=[GroupRole("g", "admin")])


def test_the_sign_in_secrets_are_the_owners_alone_and_name_the_provider(tmp_path):
    sign_in = dashboard.SignIn(SETTINGS, tmp_path / "dashboard-secrets.toml")
    secret = 'a "quoted" secret\\ with\nlines, [auth.evil] = 1, an emoji \U0001f600 and a DEL \x7f'
    sign_in.write(b"k" * 32, {"SLUICE_OIDC_SECRET": secret})
    assert stat.S_IMODE(sign_in.secrets.stat().st_mode) == 0o600
    auth = tomllib.loads(sign_in.secrets.read_text())["auth"]
    assert auth["redirect_uri"] == SETTINGS.redirect_uri and auth["expose_tokens"] == ["id"]
    assert auth["sluice"]["client_secret"] == secret and set(auth) == {"redirect_uri", "cookie_secret",
                                                                       "expose_tokens", "sluice"}
    assert auth["sluice"]["server_metadata_url"] == (
        "https://login.example-hospital.org/realms/staff/.well-known/openid-configuration")
    assert auth["sluice"]["client_kwargs"] == {"scope": "openid profile groups", "prompt": "login"}
    assert ["--secrets.files", str(sign_in.secrets)] == dashboard.command(8501, "0.0.0.0", sign_in=sign_in)[-2:]
    assert dashboard.environment("http://api", b"k" * 32, sign_in=sign_in)["SLUICE_SIGN_IN"] == "Hospital login"


def test_the_cookie_secret_outlives_a_restart_and_differs_between_installs(tmp_path):
    def cookie_secret(key: bytes) -> str:
        sign_in = dashboard.SignIn(SETTINGS, tmp_path / f"{key[:1].decode()}.toml")
        sign_in.write(key, {"SLUICE_OIDC_SECRET": "s"})
        sign_in.write(key, {"SLUICE_OIDC_SECRET": "s"})  # written again at the next start
        return tomllib.loads(sign_in.secrets.read_text())["auth"]["cookie_secret"]
    assert cookie_secret(b"a" * 32) != cookie_secret(b"b" * 32)
    assert len(cookie_secret(b"a" * 32)) == 64


def test_without_the_client_secret_the_dashboard_does_not_start_and_says_which_variable(tmp_path):
    sign_in = dashboard.SignIn(SETTINGS, tmp_path / "dashboard-secrets.toml")
    with pytest.raises(SecretMissing, match="set SLUICE_OIDC_SECRET to the client secret"):
        sign_in.write(b"k" * 32, {})
    assert not sign_in.secrets.exists()
