"""Logging in to the internal API, the role check every route makes, and account administration."""

import base64
import hmac
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (NotAuthorizedException, NotFoundException, PermissionDeniedException,
                                 ServiceUnavailableException, TooManyRequestsException)
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody

from api.accounts import MIN_PASSWORD, USERNAME_PATTERN, Account, Accounts, Role
from api.errors import AccountConflict, NoSuchAccount, OwnAccount
from api.audit import act_as, audited, note
from api.logins import ABSOLUTE_SECONDS, IDLE_SECONDS, LoginSessions

ALL_ROLES = frozenset(Role)
PUBLIC = "public"
BEARER = "BearerToken"
SECURED = [{BEARER: []}]
"""The OpenAPI security requirement of a route behind a login or the ops token: `Authorization: Bearer <token>`."""
SIGNED_IN_ERRORS = [NotAuthorizedException, PermissionDeniedException, ServiceUnavailableException]
"""What any route behind a login may answer besides its own errors: no session, a role it refuses, and a
warehouse or audit log that cannot answer (documented in the OpenAPI schema by each route's `raises`)."""


class Credentials(msgspec.Struct, frozen=True):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class IdToken(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id_token: Annotated[str, msgspec.Meta(min_length=1, max_length=16_384,
                                          description="the ID token the identity provider gave the dashboard")]


class Opened(msgspec.Struct, frozen=True):
    token: str
    username: str
    role: Role
    idle_seconds: int
    absolute_seconds: int


Password = Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD, max_length=1024,
                                       description="not the username, and not common or easy to guess")]


class NewUser(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(pattern=USERNAME_PATTERN)]
    role: Role
    password: Password


class UserChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: Role | None = None
    disabled: bool | None = None
    password: Password | None = None


def bearer_token(connection: ASGIConnection) -> str:
    """The credential of an `Authorization: Bearer ...` header, or empty."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def public(reason: str) -> dict[str, str]:
    """Route options of a route anyone who reaches the listener may call, and why that is safe."""
    return {PUBLIC: reason}


def authorized(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Guard: a live session whose role the route allows (`opt["roles"]`)."""
    token = bearer_token(connection)
    session = connection.app.state.login_sessions.find(token) if token else None
    if session is None:
        raise NotAuthorizedException(detail="log in first")
    act_as(connection, f"user:{session.username}")
    if session.role not in handler.opt.get("roles", ()):
        raise PermissionDeniedException(detail=f"the {session.role} role cannot use this")
    connection.state.session = session


FORWARDED_CLIENT = "sluice-client-ip"
DASHBOARD_KEY = "sluice-dashboard-key"
"""Beside a forwarded address: the dashboard key (base64), without which the address is not believed."""


def _login_client(request: Request) -> str:
    """Who is logging in: the address the dashboard forwards, if it proves it is the dashboard; else the peer."""
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get(FORWARDED_CLIENT, "")[:64]
    expected = request.app.state.dashboard_key
    shown = request.headers.get(DASHBOARD_KEY, "").encode()
    if forwarded and expected and hmac.compare_digest(shown, base64.b64encode(expected)):
        return forwarded
    return peer


def actor(request: Request) -> str:
    return f"user:{request.state.session.username}"


def _role(request: Request, data: "Credentials") -> Role:
    """The role a login gets: a local account's (the only way in for a name that has one), else the directory's
    from the user's groups; each refusal is noted with its reason."""
    state = request.app.state
    if state.accounts.has(data.username) or state.directory is None:
        account = state.accounts.authenticate(data.username, data.password)
        if account is None:
            note(request, outcome="failure", detail={"source": "local"})
            raise NotAuthorizedException("wrong username or password")
        if state.login.local == "admins" and account.role != Role.ADMIN:
            note(request, outcome="failure", detail={"source": "local", "reason": "local logins are for admins"})
            raise NotAuthorizedException("local accounts are for admins here: log in with your directory account")
        return account.role
    login = state.directory.authenticate(data.username, data.password)
    if login.role is None:
        note(request, outcome="failure", detail={"source": "ldap", "reason": login.reason})
        if login.reason == "no mapped group":
            raise PermissionDeniedException("none of your directory groups gives a Sluice role: ask IT for access")
        if login.reason == "directory unreachable":
            raise ServiceUnavailableException("the directory does not answer; try again, or ask IT")
        raise NotAuthorizedException("wrong username or password")
    note(request, detail={"source": "ldap", "group": login.group, "role": str(login.role)})
    return login.role


class SessionController(Controller):
    path = "/api/session"
    tags = ["session"]

    @post(status_code=201, sync_to_thread=True,
          opt=audited("session.login") | public("logging in; lockouts per name and address slow guessing"),
          raises=[NotAuthorizedException, PermissionDeniedException, TooManyRequestsException,
                  ServiceUnavailableException])
    def log_in(self, request: Request, data: JSONBody[Credentials]) -> Response:
        """Exchange a username and password for a session token."""
        state = request.app.state
        # One name per person, as directories match them: "Ana" and " ana" share "ana"'s account and lockout.
        data = msgspec.structs.replace(data, username=data.username.strip().casefold())
        client = _login_client(request)
        note(request, actor=f"user:{data.username}", resource=client)
        was_locked = state.throttle.locked(data.username, client)
        wait = state.login_limiter.retry_after(client) or state.throttle.attempt(data.username, client)
        if wait:
            locks_now = not was_locked and state.throttle.locked(data.username, client)
            note(request, action="session.lockout" if locks_now else None, detail={"reason": "throttled"})
            raise TooManyRequestsException("too many attempts; try again later", headers={"retry-after": str(wait)})
        role = _role(request, data)
        state.throttle.succeeded(data.username, client)
        token = state.login_sessions.open(data.username, role)
        return Response(Opened(token=token, username=data.username, role=role,
                               idle_seconds=IDLE_SECONDS, absolute_seconds=ABSOLUTE_SECONDS), status_code=201)

    @post("/oidc", status_code=201, sync_to_thread=True,
          opt=audited("session.login") | public("signing in with an ID token the provider signed moments ago; "
                                                "each is taken once"),
          raises=[NotFoundException, NotAuthorizedException, PermissionDeniedException, TooManyRequestsException,
                  ServiceUnavailableException])
    def sign_in(self, request: Request, data: JSONBody[IdToken]) -> Response:
        """Exchange an ID token from the organisation's OpenID Connect provider for a session token."""
        state = request.app.state
        if state.identity_provider is None:
            raise NotFoundException("single sign-on is not set up here: log in with a username and password")
        client = _login_client(request)
        note(request, actor="user:(unverified)", resource=client, detail={"source": "oidc"})
        wait = state.login_limiter.retry_after(client)
        if wait:
            raise TooManyRequestsException("too many attempts; try again later", headers={"retry-after": str(wait)})
        login = state.identity_provider.log_in(data.id_token)
        username = login.username
        note(request, actor=f"user:{username}" if username else None,
             detail={"subject": login.subject} if login.subject else None)
        if login.role is not None and state.accounts.has(username):
            login = msgspec.structs.replace(login, role=None, reason="name of a local account")
        if login.role is None:
            note(request, outcome="failure", detail={"reason": login.reason} | ({"problem": login.problem}
                                                                               if login.problem else {}))
            raise _refusal(login.reason)
        note(request, detail={"group": login.group, "role": str(login.role)})
        token = state.login_sessions.open(username, login.role)
        return Response(Opened(token=token, username=username, role=login.role,
                               idle_seconds=IDLE_SECONDS, absolute_seconds=ABSOLUTE_SECONDS), status_code=201)

    @get(guards=[authorized], opt={"roles": ALL_ROLES} | audited("session.read"), sync_to_thread=False,
         raises=SIGNED_IN_ERRORS, security=SECURED)
    def whoami(self, request: Request) -> dict:
        """The session's user and role."""
        session = request.state.session
        return {"username": session.username, "role": session.role}

    @delete(guards=[authorized], opt={"roles": ALL_ROLES} | audited("session.logout"), status_code=204,
            sync_to_thread=True, raises=SIGNED_IN_ERRORS, security=SECURED)
    def log_out(self, request: Request) -> None:
        """Revoke this session's token."""
        request.app.state.login_sessions.close(bearer_token(request))


def _refusal(reason: str) -> Exception:
    """What a refused single sign-on answers, by the reason the audit log records."""
    if reason == "no mapped group":
        return PermissionDeniedException("none of your groups at the identity provider gives a Sluice role: "
                                         "ask IT for access")
    if reason == "name of a local account":
        return PermissionDeniedException("your name at the identity provider is a local Sluice account's: "
                                         "ask IT to rename one of the two")
    if reason == "name not taken":
        return PermissionDeniedException("your name at the identity provider is not one Sluice takes (ASCII "
                                         "letters, digits, . _ - @ +): ask IT")
    if reason == "provider unreachable":
        return ServiceUnavailableException("the identity provider does not answer; try again, or ask IT")
    if reason == "provider misconfigured":
        return ServiceUnavailableException("the identity provider's settings do not fit Sluice's: ask IT (the "
                                           "audit log says what is wrong)")
    if reason == "token used already":
        return NotAuthorizedException("this sign-in was used already: sign in again")
    return NotAuthorizedException("the identity provider's token is not valid here: sign in again")


class UsersController(Controller):
    path = "/api/users"
    tags = ["users"]
    guards = [authorized]
    security = SECURED
    opt = {"roles": {Role.ADMIN}}

    @get(sync_to_thread=True, opt=audited("users.read"), raises=SIGNED_IN_ERRORS)
    def list_users(self, request: Request) -> list[Account]:
        users = request.app.state.accounts.list()
        note(request, detail={"rows": len(users)})
        return users

    @post(sync_to_thread=True, opt=audited("users.add"), raises=[*SIGNED_IN_ERRORS, AccountConflict])
    def add_user(self, request: Request, data: JSONBody[NewUser]) -> Account:
        return request.app.state.accounts.add(data.username, data.role, data.password, actor(request))

    @patch("/{username:str}", sync_to_thread=True, opt=audited("users.change"),
           raises=[*SIGNED_IN_ERRORS, NoSuchAccount, AccountConflict])  # OwnAccount: the 403 documented already
    def change_user(self, request: Request, username: FromPath[str], data: JSONBody[UserChange]) -> Account:
        if username == request.state.session.username:
            raise OwnAccount("another admin (or `sluice user` on the server) changes your own account")
        return apply_change(request.app.state.accounts, request.app.state.login_sessions, username, data, actor(request))


def apply_change(accounts: Accounts, sessions: LoginSessions, username: str, change: UserChange, by: str) -> Account:
    """Role, disabling and password changes, all or none; a change ends the user's open sessions."""
    account = accounts.change(username, by, role=change.role, disabled=change.disabled, password=change.password)
    sessions.close_all(username)
    return account

