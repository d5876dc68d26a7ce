"""Accounts: one role each, Argon2id password hashes, and the rules a password must meet."""

import re
import threading
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from api.errors import AccountConflict, AccountError, NoSuchAccount
from warehouse import Warehouse
from warehouse.users import UserRecord, append_user, current_users, find_user

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
_USERNAME = re.compile(USERNAME_PATTERN)
MIN_PASSWORD = 12


class Role(StrEnum):
    MARKETER = "marketer"
    ANALYST = "analyst"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


class GroupRole(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One line of a central login's role mapping: members of `group` get `role`."""

    group: Annotated[str, msgspec.Meta(min_length=1, description="an LDAP group's distinguished name, or a group "
                                                                 "as the identity provider's groups claim names it")]
    role: Role


class Account(msgspec.Struct, frozen=True):
    """What the API shows of an account: never its hash."""

    username: str
    role: Role
    disabled: bool
    changed_at: datetime
    changed_by: str


class Accounts:
    def __init__(self, warehouse: Warehouse, hasher: PasswordHasher | None = None) -> None:
        self._warehouse = warehouse
        self._hasher = hasher or PasswordHasher()
        # Each hash takes 64 MiB with the defaults: a burst of logins must not take the box's memory.
        self._hashing = threading.BoundedSemaphore(4)
        # Checked when a user is unknown, so that answer takes as long as a wrong password.
        self._decoy = self._hasher.hash("not a password of anyone's")

    def list(self) -> list[Account]:
        return [_account(record) for record in current_users(self._warehouse.client)]

    def add(self, username: str, role: Role, password: str, actor: str) -> Account:
        if not _USERNAME.match(username):
            raise AccountError("a username is 2-64 lowercase letters, digits, '.', '_' or '-'")
        if find_user(self._warehouse.client, username):
            raise AccountConflict(f"user {username!r} exists")
        check_password(password, username)
        return self._change(username, actor, create=True, role=role, password_hash=self._hasher.hash(password),
                            disabled=False)

    def change(self, username: str, actor: str, *, role: Role | None = None, disabled: bool | None = None,
               password: str | None = None) -> Account:
        """Apply every given change as one, or none if any breaks a rule. A new password enables the account."""
        changes: dict = {}
        if password is not None:
            check_password(password, username)
            changes |= {"password_hash": self._hasher.hash(password), "disabled": False}
        if role is not None:
            changes["role"] = role
        if disabled is not None:
            changes["disabled"] = disabled
        if not changes:
            raise AccountError("nothing to change: give role, disabled or password")
        self._keep_an_admin(username, changes)
        return self._change(username, actor, **changes)

    def set_role(self, username: str, role: Role, actor: str) -> Account:
        return self.change(username, actor, role=role)

    def disable(self, username: str, actor: str) -> Account:
        return self.change(username, actor, disabled=True)

    def reset_password(self, username: str, password: str, actor: str) -> Account:
        return self.change(username, actor, password=password)

    def _keep_an_admin(self, username: str, changes: dict) -> None:
        demoted = changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("disabled") is True
        if not demoted:
            return
        accounts = self.list()
        others = [a for a in accounts if a.role == Role.ADMIN and not a.disabled and a.username != username]
        if not others and any(a.username == username and a.role == Role.ADMIN for a in accounts):
            raise AccountConflict("that would leave no enabled admin; make another admin first")

    def has(self, username: str) -> bool:
        """Whether a local account of that name exists, enabled or not."""
        return find_user(self._warehouse.client, username) is not None

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account if the password is right and the account enabled; None otherwise, in similar time."""
        record = find_user(self._warehouse.client, username)
        try:
            with self._hashing:
                self._hasher.verify(record.password_hash if record else self._decoy, password)
        except (VerificationError, InvalidHashError):
            return None
        if record is None or record.disabled:
            return None
        if self._hasher.check_needs_rehash(record.password_hash):
            self._change(username, "sluice", password_hash=self._hasher.hash(password))
        return _account(record)

    def _change(self, username: str, actor: str, create: bool = False, **changes) -> Account:
        current = find_user(self._warehouse.client, username)
        if current is None and not create:
            raise NoSuchAccount(f"there is no user {username!r}")
        base = current or UserRecord(username=username, role="", password_hash="", disabled=False,
                                     changed_at=datetime.now(UTC), changed_by=actor)
        record = msgspec.structs.replace(base, **changes, changed_at=datetime.now(UTC), changed_by=actor)
        append_user(self._warehouse.client, record)
        self._warehouse.audit.record(actor, "user.change", f"user:{username}",
                                     detail={key: value for key, value in changes.items() if key != "password_hash"}
                                     | ({"password": "changed"} if "password_hash" in changes else {}))
        return _account(record)


def check_password(password: str, username: str) -> None:
    """At least 12 characters, not the username, not a common or easily guessed password."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if username.lower() in password.lower():
        raise AccountError("a password must not contain the username")
    if zxcvbn(password[:72], user_inputs=[username])["score"] < 2:  # zxcvbn refuses anything longer than 72
        raise AccountError("that password is common or easy to guess; choose a longer, less predictable one")


def _account(record: UserRecord) -> Account:
    return Account(username=record.username, role=Role(record.role), disabled=record.disabled,
                   changed_at=record.changed_at, changed_by=record.changed_by)
