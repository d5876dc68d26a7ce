"""The internal API as `sluice serve` builds it: a secret the config names but the environment lacks is said
at start, not found out at the first login."""

import pytest

from api.accounts import GroupRole
from api.directory import LdapSettings, LoginSettings
from sluice.datadir import DataDir
from sluice.errors import SecretMissing
from sluice.internal import internal_api

LDAP = LdapSettings(url="ldaps://dc.example-hospital.org", bind_dn="cn=sluice,ou=services,dc=example-hospital,dc=org",
                    bind_password_env="SLUICE_TEST_UNSET_LDAP_PASSWORD",
                    user_base="ou=people,dc=example-hospital,dc=org",
                    roles=[GroupRole("cn=it,ou=groups,dc=example-hospital,dc=org", "admin")])


def test_a_directory_service_account_without_its_password_stops_the_start(warehouse, tmp_path, monkeypatch):
    monkeypatch.delenv(LDAP.bind_password_env, raising=False)
    with pytest.raises(SecretMissing, match="set SLUICE_TEST_UNSET_LDAP_PASSWORD to the password of the directory"):
        internal_api(warehouse, "ops", DataDir(tmp_path), login=LoginSettings(ldap=LDAP))
    monkeypatch.setenv(LDAP.bind_password_env, "set")
    app, _ = internal_api(warehouse, "ops", DataDir(tmp_path), login=LoginSettings(ldap=LDAP))
    assert app.state.directory is not None
