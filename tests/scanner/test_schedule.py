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
