"""The parts a process plugs into its internal API: the forwarder and the scanner over its warehouse."""

from collector.hooks import Hooks
from forwarder.runner import Forwarder
from forwarder.settings import ForwarderSettings
from scanner.settings import ScannerSettings
from sluice.datadir import DataDir
from sluice.forwarding import forwarder_for, hook
from sluice.scanning import hosts_hook, record_hook
from warehouse import Warehouse


def hooks_for(forwarder_settings: ForwarderSettings, scanner_settings: ScannerSettings, warehouse: Warehouse,
              data_dir: DataDir) -> tuple[Hooks, Forwarder | None]:
    forwarder = forwarder_for(forwarder_settings, warehouse, data_dir)
    hooks = Hooks(forward=hook(forwarder), record_scan=record_hook(scanner_settings, warehouse),
                  tracker_hosts=hosts_hook(scanner_settings, warehouse))
    return hooks, forwarder
