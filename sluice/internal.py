"""The internal API of a process, with the forwarder, scanner and demo loader it has."""

import os
from collections.abc import Sequence

from litestar import Litestar

from api import internal_app
from api.directory import LoginSettings
from collector import demo
from collector.settings import Site, opt_out_sites
from forwarder.runner import Forwarder
from forwarder.settings import ForwarderSettings
from mail import MailSettings
from scanner.settings import ScannerSettings
from sluice import backup
from sluice.datadir import DataDir
from sluice.errors import SecretMissing
from sluice.forwarding import forwarder_for
from warehouse import Warehouse
from warehouse.settings import AuditSettings


def internal_api(warehouse: Warehouse, ops_token: str, data_dir: DataDir, *, sites: Sequence[Site] = (),
                 forwarder: ForwarderSettings = ForwarderSettings(), scanner: ScannerSettings = ScannerSettings(),
                 mail: MailSettings = MailSettings(), instance: str = "sluice",
                 audit: AuditSettings = AuditSettings(),
                 login: LoginSettings = LoginSettings()) -> tuple[Litestar, Forwarder | None]:
    """The internal app over `warehouse`, and the forwarder it runs (none without a policy)."""
    _check_directory_secret(login)
    runner = forwarder_for(forwarder, warehouse, data_dir, instance, opt_out_sites(sites))
    app = internal_app(warehouse, ops_token, [site.id for site in sites], forwarder=runner, scanner=scanner,
                       mail=mail, demo=demo.load, dashboard_key=data_dir.dashboard_key(),
                       backup=backup.maker(data_dir, data_dir.anchors(audit)), login=login)
    return app, runner


def _check_directory_secret(login: LoginSettings) -> None:
    """A directory's service account without its password would refuse every login as "unreachable": say so now."""
    named = login.ldap.bind_password_env if login.ldap else ""
    if named and not os.environ.get(named):
        raise SecretMissing(f"login.ldap: set {named} to the password of the directory's service account "
                            f"({login.ldap.bind_dn})")
