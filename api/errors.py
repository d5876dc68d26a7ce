"""The internal API's errors, each with a status and a message the caller can act on."""

from typing import Any

import msgspec
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi import ResponseSpec


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """What every error answers."""

    status_code: int
    detail: str
    extra: dict[str, Any] | list[Any] | None = None


def json_errors(*errors: type[HTTPException]) -> dict[int, ResponseSpec]:
    """OpenAPI responses for a route whose answers are not JSON but whose errors are."""
    return {error.status_code: ResponseSpec(data_container=ErrorBody, description=error.__doc__ or error.__name__,
                                            generate_examples=False) for error in errors}


class ApiError(ClientException):
    """Base class for every error the internal API raises itself: a 400 unless a subclass says otherwise."""


class AccountError(ApiError):
    """A change to an account that breaks a rule; the message says which."""


class NoSuchAccount(AccountError):
    status_code = 404


class AccountConflict(AccountError):
    """The account exists already, or the change would leave no enabled admin."""

    status_code = 409


class OwnAccount(AccountError):
    """An admin's own account is changed by another admin, not by its holder."""

    status_code = 403


class Unavailable(ApiError):
    """A route whose part is not configured in this process (no forwarder policy, no demo loader)."""

    status_code = 409


class BackupRefused(ApiError):
    """A backup that cannot be made as asked (a directory that is not empty, or inside the data dir; a process
    that keeps no data dir)."""

    status_code = 409


class NoSuchAnnotation(ApiError):
    status_code = 404


class OthersAnnotation(ApiError):
    """An annotation is removed by its author or an admin."""

    status_code = 403


class NoSuchView(ApiError):
    status_code = 404


class NoSuchGoal(ApiError):
    status_code = 404
