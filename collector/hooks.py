"""What the composing process plugs into the internal API: work the collector does not own."""

from collections.abc import Callable
from typing import Any

import msgspec


class Hooks(msgspec.Struct, frozen=True, kw_only=True):
    forward: Callable[[Any], dict] | None = None
    """Runs the forwarder with a `ForwardRun`; answers its cells and requests."""
    record_scan: Callable[[dict], dict] | None = None
    """Stores a website scan (as the `sluice scan` command uploads it) and raises its alerts."""
    tracker_hosts: Callable[[str | None], list] | None = None
    """Every third-party host of a site (None: of all sites), as compliance reads them."""
