"""`sluice user ...`: accounts of the dashboard and internal API."""

import sys

import click

from api.accounts import Role
from sluice.cli._common import call, global_options

_ROLES = click.Choice([role.value for role in Role])
_password_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")


@click.group("user")
@global_options
def user_group() -> None:
    """Accounts of the dashboard and internal API."""


@user_group.command("add")
@global_options
@click.argument("name")
@click.option("--role", type=_ROLES, required=True)
@_password_stdin
def user_add_command(name: str, role: str, password_stdin: bool) -> None:
    """Create an account (password: at least 12 characters, not common, not the name)."""
    account = call("POST", "/api/ops/users", json={"username": name, "role": role,
                                                    "password": _password(password_stdin)})
    click.echo(f"added {account['username']} ({account['role']})")


@user_group.command("list")
@global_options
def user_list_command() -> None:
    """List accounts with their role and state."""
    for account in call("GET", "/api/ops/users"):
        state = "disabled" if account["disabled"] else "active"
        click.echo(f"{account['username']:24} {account['role']:11} {state:9} changed {account['changed_at']} "
                   f"by {account['changed_by']}")


@user_group.command("set-role")
@global_options
@click.argument("name")
@click.argument("role", type=_ROLES)
def user_set_role_command(name: str, role: str) -> None:
    """Give an account another role (its open login sessions end)."""
    call("PATCH", f"/api/ops/users/{name}", json={"role": role})
    click.echo(f"{name} is now {role}")


@user_group.command("disable")
@global_options
@click.argument("name")
def user_disable_command(name: str) -> None:
    """Disable an account (its open login sessions end)."""
    call("PATCH", f"/api/ops/users/{name}", json={"disabled": True})
    click.echo(f"{name} is disabled")


@user_group.command("reset-password")
@global_options
@click.argument("name")
@_password_stdin
def user_reset_password_command(name: str, password_stdin: bool) -> None:
    """Set a new password (and enable the account)."""
    call("PATCH", f"/api/ops/users/{name}", json={"password": _password(password_stdin)})
    click.echo(f"password of {name} changed")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)
