"""The warehouse's upkeep on the server's schedule."""

from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler

from collector import demo
from sluice.upkeep import schedule_upkeep


def test_cells_are_kept_soon_after_start_and_every_few_minutes(warehouse):
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule_upkeep(scheduler, warehouse, ["main"], "serve-a")
    (job,) = scheduler.get_jobs()
    assert str(job.trigger.interval) == "0:10:00" and job.max_instances == 1 and job.coalesce


def test_several_instances_compute_each_sites_cells_once_per_interval(warehouse):
    demo.load(warehouse, 2_000, days=10, site="main", seed=3)
    demo.load(warehouse, 1_000, days=10, site="clinic", seed=4)
    schedulers = [BackgroundScheduler(timezone=UTC) for _ in range(2)]
    for name, scheduler in zip(("serve-a", "serve-b"), schedulers, strict=True):
        schedule_upkeep(scheduler, warehouse, ["main", "clinic"], name)
    for scheduler in schedulers:  # both instances' jobs come due within one interval
        for job in scheduler.get_jobs():
            job.func(*job.args)
    per_site = dict(warehouse.client.query(
        "SELECT site, uniqExact(generation) FROM visit_cell_days GROUP BY site").result_rows)
    assert per_site == {"main": 6, "clinic": 6}  # one generation per visit report and site
