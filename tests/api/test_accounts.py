import pytest
from argon2 import PasswordHasher, profiles

from api.accounts import AccountError, Accounts, Role
from warehouse.users import find_user

GOOD = "violet-Harbor-93-kite"
FAST = PasswordHasher.from_parameters(profiles.CHEAPEST)


@pytest.fixture
def accounts(warehouse) -> Accounts:
    return Accounts(warehouse, FAST)


@pytest.mark.parametrize(
    ("username", "password", "complaint"),
    [
        ("alice", "Sh0rt-pass", "at least 12 characters"),
        ("alice", "alice-in-the-garden-99", "must not contain the username"),
        ("alice", "password1234", "common or easy to guess"),
        ("alice", "qwertyuiop123", "common or easy to guess"),
        ("Alice Smith", GOOD, "lowercase letters"),
    ],
)
def test_passwords_and_names_that_break_the_rules_are_refused(accounts, username, password, complaint):
    with pytest.raises(AccountError, match=complaint):
        accounts.add(username, Role.MARKETER, password, "test")
    assert accounts.list() == []


def test_only_an_argon2id_hash_is_stored(accounts, warehouse):
    accounts.add("alice", Role.ANALYST, GOOD, "test")
    stored = find_user(warehouse.client, "alice").password_hash
    assert stored.startswith("$argon2id$") and GOOD not in stored


def test_the_right_password_opens_the_account_and_nothing_else_does(accounts):
    accounts.add("alice", Role.COMPLIANCE, GOOD, "test")
    assert accounts.authenticate("alice", GOOD).role == Role.COMPLIANCE
    assert accounts.authenticate("alice", GOOD + "x") is None
    assert accounts.authenticate("mallory", GOOD) is None


def test_a_disabled_account_cannot_log_in_until_its_password_is_reset(accounts):
    accounts.add("alice", Role.MARKETER, GOOD, "test")
    accounts.disable("alice", "test")
    assert accounts.authenticate("alice", GOOD) is None
    accounts.reset_password("alice", "amber-Glacier-27-fern", "test")
    assert accounts.authenticate("alice", "amber-Glacier-27-fern") is not None


def test_a_hash_made_with_old_parameters_is_replaced_at_login(warehouse):
    Accounts(warehouse, FAST).add("alice", Role.ADMIN, GOOD, "test")
    stronger = PasswordHasher(time_cost=2, memory_cost=8 * 1024, parallelism=1)
    assert Accounts(warehouse, stronger).authenticate("alice", GOOD) is not None
    assert "m=8192,t=2,p=1" in find_user(warehouse.client, "alice").password_hash


def test_every_change_is_kept_and_audited_without_the_password(accounts, warehouse):
    accounts.add("alice", Role.MARKETER, GOOD, "ops:root")
    accounts.set_role("alice", Role.ADMIN, "user:bob")
    assert warehouse.client.command("SELECT count() FROM users WHERE username = 'alice'") == 2
    changes = [e for e in warehouse.audit.entries() if e.action == "user.change"]
    assert [e.actor for e in changes] == ["ops:root", "user:bob"]
    assert GOOD not in "".join(e.detail for e in changes) and '"password":"changed"' in changes[0].detail


def test_names_are_unique_and_changes_need_an_existing_user(accounts):
    accounts.add("alice", Role.MARKETER, GOOD, "test")
    with pytest.raises(AccountError, match="exists"):
        accounts.add("alice", Role.ADMIN, GOOD, "test")
    with pytest.raises(AccountError, match="no user"):
        accounts.disable("nobody", "test")
    with pytest.raises(AccountError, match="no user"):
        accounts.reset_password("nobody", GOOD, "test")
    assert [a.username for a in accounts.list()] == ["alice"]


def test_a_long_passphrase_is_accepted(accounts):
    passphrase = "correct horse battery staple, " * 3 + "and one more word"  # 107 characters
    accounts.add("alice", Role.ANALYST, passphrase, "test")
    assert accounts.authenticate("alice", passphrase).username == "alice"
