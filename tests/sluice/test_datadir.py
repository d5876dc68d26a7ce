"""The data dir's keys: made once, readable by the service account only, shareable through the environment."""

import base64
import stat

import pytest

from sluice.datadir import AUDIT_KEY_ENV, CONSENT_KEY_ENV, DataDir, DataDirError

KEYS = pytest.mark.parametrize(("kind", "env_name"), [("consent", CONSENT_KEY_ENV), ("audit", AUDIT_KEY_ENV)])


def _key(data_dir: DataDir, kind: str, env: dict) -> bytes:
    return getattr(data_dir, f"{kind}_key")(env=env)


@KEYS
def test_a_key_is_made_once_and_kept_for_the_owner_only(tmp_path, kind, env_name):
    key = _key(DataDir(tmp_path / "data"), kind, {})
    assert len(key) == 32 and _key(DataDir(tmp_path / "data"), kind, {}) == key  # a restart keeps it
    assert stat.S_IMODE((tmp_path / "data" / f"{kind}-key").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir() if kind in p.name] == [f"{kind}-key"]


def test_the_consent_and_audit_keys_differ(tmp_path):
    data_dir = DataDir(tmp_path / "data")
    assert data_dir.consent_key(env={}) != data_dir.audit_key(env={})


@KEYS
def test_hosts_share_a_key_through_the_environment(tmp_path, kind, env_name):
    shared = base64.b64encode(b"x" * 32).decode()
    assert _key(DataDir(tmp_path / "a"), kind, {env_name: shared}) == b"x" * 32
    assert not (tmp_path / "a" / f"{kind}-key").exists()


@KEYS
@pytest.mark.parametrize(("value", "message"), [("not base64!", "is not base64"),
                                                 (base64.b64encode(b"short").decode(), "holds 5 bytes")])
def test_an_unusable_key_in_the_environment_is_refused(tmp_path, kind, env_name, value, message):
    with pytest.raises(DataDirError, match=message):
        _key(DataDir(tmp_path / "a"), kind, {env_name: value})


@KEYS
def test_a_damaged_key_is_refused_not_replaced(tmp_path, kind, env_name):
    data_dir = DataDir(tmp_path / "data")
    _key(data_dir, kind, {})
    (tmp_path / "data" / f"{kind}-key").write_bytes(b"")
    with pytest.raises(DataDirError, match="damaged"):
        _key(data_dir, kind, {})


@KEYS
def test_a_key_file_other_accounts_can_read_is_refused(tmp_path, kind, env_name):
    data_dir = DataDir(tmp_path / "data")
    _key(data_dir, kind, {})
    (tmp_path / "data" / f"{kind}-key").chmod(0o644)
    with pytest.raises(DataDirError, match="readable by other accounts: `chmod 600"):
        _key(data_dir, kind, {})
