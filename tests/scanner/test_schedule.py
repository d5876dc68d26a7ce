"""The scanner's jobs on the scheduler."""

from datetime import UTC

import msgspec
from apscheduler.schedulers.background import BackgroundScheduler

from scanner.schedule import schedule_scans
from scanner.settings import ScannerSettings


def test_each_target_is_scanned_on_schedule_and_new_hosts_are_checked_often(warehouse):
    scheduler = BackgroundScheduler(timezone=UTC)
    settings = msgspec.convert({"targets": [{"site": "main", "start_urls": ["https://www.example-hospital.org/"]}],
                                "schedule_hours": 24}, ScannerSettings)
    schedule_scans(scheduler, settings, {}, warehouse)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"scan:main", "scan:alerts"}
    assert str(jobs["scan:main"].trigger.interval) == "1 day, 0:00:00" and jobs["scan:main"].max_instances == 1
    assert str(jobs["scan:alerts"].trigger.interval) == "0:05:00"


def test_several_instances_on_one_warehouse_scan_the_site_once_per_interval(site, warehouse):
    from tests.scanner.conftest import settings as site_settings

    policy = msgspec.structs.replace(site_settings(site), schedule_hours=24)
    schedulers = [BackgroundScheduler(timezone=UTC) for _ in range(2)]
    for name, scheduler in zip(("serve-a", "serve-b"), schedulers, strict=True):
        schedule_scans(scheduler, policy, {}, warehouse, instance=name)
    for scheduler in schedulers:  # both instances' jobs come due within one interval
        for job in scheduler.get_jobs():
            job.func(*job.args)
    assert warehouse.client.command("SELECT count() FROM tracker_scans") == 1
