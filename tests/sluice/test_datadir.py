"""The data dir's keys: made once, readable by the service account only, shareable through the environment."""

import base64
import stat

import pytest

from sluice.datadir import CONSENT_KEY_ENV, DataDir, DataDirError


def test_the_consent_key_is_made_once_and_kept_for_the_owner_only(tmp_path):
    data_dir = DataDir(tmp_path / "data")
    key = data_dir.consent_key(env={})
    assert len(key) == 32 and DataDir(tmp_path / "data").consent_key(env={}) == key  # a restart keeps it
    assert stat.S_IMODE((tmp_path / "data" / "consent-key").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir() if "consent" in p.name] == ["consent-key"]


def test_collector_hosts_share_a_consent_key_through_the_environment(tmp_path):
    shared = base64.b64encode(b"x" * 32).decode()
    assert DataDir(tmp_path / "a").consent_key(env={CONSENT_KEY_ENV: shared}) == b"x" * 32
    assert not (tmp_path / "a" / "consent-key").exists()


@pytest.mark.parametrize(("value", "message"), [("not base64!", "is not base64"),
                                                 (base64.b64encode(b"short").decode(), "holds 5 bytes")])
def test_an_unusable_consent_key_in_the_environment_is_refused(tmp_path, value, message):
    with pytest.raises(DataDirError, match=message):
        DataDir(tmp_path / "a").consent_key(env={CONSENT_KEY_ENV: value})


def test_a_damaged_consent_key_is_refused_not_replaced(tmp_path):
    data_dir = DataDir(tmp_path / "data")
    data_dir.consent_key(env={})
    (tmp_path / "data" / "consent-key").write_bytes(b"")
    with pytest.raises(DataDirError, match="damaged"):
        data_dir.consent_key(env={})
