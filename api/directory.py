"""Logins against the organisation's directory (LDAP or Active Directory), with roles from its groups.

A login binds as the user (found by a search, as a service account or anonymously), over LDAPS or StartTLS
with the configured CA. Its role is that of the first configured group the user is a member of, read at each
login: a change of groups counts from the next one. A user in no configured group is refused.
"""

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

import ldap3
import msgspec
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from api.accounts import GroupRole, Role
from api.openid import OidcSettings


class LdapSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[login.ldap]`: where the directory is and which of its groups give which role."""

    url: Annotated[str, msgspec.Meta(pattern=r"^ldaps?://[^/\s]+/?$", description="ldap://host[:port] or ldaps://")]
    start_tls: bool = True
    """For an ldap:// URL: StartTLS before any bind (a password never crosses in clear)."""
    ca_file: str = ""
    """The CA that signed the directory's certificate; empty: the system's CAs."""
    bind_dn: str = ""
    """The service account that searches for users; empty: search anonymously."""
    bind_password_env: str = ""
    user_base: str
    user_filter: str = "(uid={username})"
    """`{username}` is the login name, escaped; Active Directory: `(sAMAccountName={username})`."""
    group_base: str = ""
    """Where groups are searched for a `member` of the user; empty: the user's `memberOf` attribute (AD)."""
    roles: list[GroupRole]
    """In order: the first group the user is in decides the role."""
    timeout_seconds: Annotated[int, msgspec.Meta(ge=1, le=60)] = 5

    def __post_init__(self) -> None:
        if self.url.startswith("ldap://") and not self.start_tls:
            raise ValueError("an ldap:// directory needs start_tls = true, or use ldaps://: passwords are sent to it")
        if not self.roles:
            raise ValueError("roles: map at least one group to a role, or nobody can log in through the directory")
        if self.ca_file and not os.path.isfile(self.ca_file):
            raise ValueError(f"ca_file: no readable file at {self.ca_file}")


class LoginSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """`[login]`: who may log in with a local account, and the directory or identity provider for everyone else."""

    local: Literal["everyone", "admins"] = "everyone"
    """"admins": local accounts are for break-glass admins only; everyone else signs in centrally."""
    ldap: LdapSettings | None = None
    oidc: OidcSettings | None = None


class DirectoryLogin(msgspec.Struct, frozen=True):
    """How a directory login came out: the role it gets (none if refused), and why, for the audit log."""

    role: Role | None
    reason: Literal["granted", "wrong username or password", "no mapped group", "directory unreachable"]
    group: str = ""
    """The group that decided the role."""


class Directory:
    def __init__(self, settings: LdapSettings, env: dict[str, str] | None = None) -> None:
        self._settings = settings
        self._password = (env or os.environ).get(settings.bind_password_env, "") if settings.bind_password_env else ""
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                        ca_certs_file=settings.ca_file or None)
        self._server = ldap3.Server(settings.url, use_ssl=settings.url.startswith("ldaps://"), tls=tls,
                                    connect_timeout=settings.timeout_seconds, get_info=ldap3.NONE)

    def authenticate(self, username: str, password: str) -> DirectoryLogin:
        if not password:  # an empty password is an unauthenticated bind, which LDAP servers accept
            return DirectoryLogin(None, "wrong username or password")
        try:
            with self._connection(self._settings.bind_dn, self._password) as searcher:
                dn, member_of = self._find(searcher, username)
                if dn is None:
                    return DirectoryLogin(None, "wrong username or password")
                with self._connection(dn, password) as user:
                    if not user.bound:
                        return DirectoryLogin(None, "wrong username or password")
                groups = self._groups(searcher, dn) if self._settings.group_base else member_of
        except LDAPException:
            return DirectoryLogin(None, "directory unreachable")
        member = {group.lower() for group in groups}
        for mapping in self._settings.roles:
            if mapping.group.lower() in member:
                return DirectoryLogin(mapping.role, "granted", mapping.group)
        return DirectoryLogin(None, "no mapped group")

    @contextmanager
    def _connection(self, dn: str, password: str) -> Iterator[ldap3.Connection]:
        """A connection bound as `dn` (anonymous if empty), over TLS before any bind; check `bound`."""
        connection = ldap3.Connection(self._server, user=dn or None, password=password or None,
                                      receive_timeout=self._settings.timeout_seconds, raise_exceptions=False,
                                      read_only=True, auto_referrals=False)  # a referral is not followed in clear
        try:
            connection.open()
            if self._settings.url.startswith("ldap://") and not connection.start_tls():
                raise LDAPException("StartTLS was refused")
            connection.bind()
            if dn == self._settings.bind_dn and not connection.bound:
                raise LDAPException("the directory refused the service account's bind")
            yield connection
        finally:
            connection.unbind()

    def _find(self, searcher: ldap3.Connection, username: str) -> tuple[str | None, list[str]]:
        """The one entry the login name finds, with its groups from `memberOf`; none if not exactly one."""
        query = self._settings.user_filter.replace("{username}", escape_filter_chars(username))
        searcher.search(self._settings.user_base, query, attributes=["memberOf"], size_limit=2)
        if len(searcher.entries) != 1:
            return None, []
        entry = searcher.entries[0]
        return entry.entry_dn, [str(group) for group in entry["memberOf"]] if "memberOf" in entry else []

    def _groups(self, searcher: ldap3.Connection, dn: str) -> list[str]:
        searcher.search(self._settings.group_base, f"(member={escape_filter_chars(dn)})", attributes=[])
        return [entry.entry_dn for entry in searcher.entries]
