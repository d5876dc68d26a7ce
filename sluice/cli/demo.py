"""`sluice demo seed`: realistic hospital traffic, and the demo admin `sluice up --demo` prints."""

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import click
import httpx
from tqdm import tqdm

from collector import demo
from sluice.cli._common import Context, context, global_options
from sluice.ops import checked, ops_client

_CHUNK = 100_000
DEMO_ADMIN = "demo-admin"


@click.group("demo")
@global_options
def demo_group() -> None:
    """Demo data."""


@demo_group.command("seed")
@global_options
@click.option("--events", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 400), default=90, show_default=True)
@click.option("--site", help="Site id (default: the first configured site).")
def demo_seed_command(events: int, days: int, site: str | None) -> None:
    """Load realistic hospital traffic through the same enrichment as live events."""
    ctx = context()
    seed_demo(ctx, events=events, days=days, site=site or ctx.config.sites[0].id, only_if_empty=False)


def seed_demo(ctx: Context, *, events: int, days: int, site: str, only_if_empty: bool,
              admin: bool = False) -> str | None:
    """Seed in chunks, so the progress bar moves whether a server or this process does the work; with
    `admin`, also create the demo admin in the same session and return its password."""

    async def seed(client: httpx.AsyncClient) -> None:
        with tqdm(total=events, unit=" events", unit_scale=True, desc="seeding demo data") as bar:
            for chunk, start in enumerate(range(0, events, _CHUNK)):
                body = {"events": min(_CHUNK, events - start), "days": days, "site": site, "seed": chunk,
                        "only_if_empty": only_if_empty and chunk == 0, "compute_cells": start + _CHUNK >= events}
                result = checked(await client.post("/api/ops/demo/seed", json=body)).json()
                if result["skipped"]:
                    bar.write("the warehouse already holds events: demo data not seeded again")
                    return
                bar.update(result["inserted"])

    async def run() -> str | None:
        async with ops_client(ctx.data_dir, ctx.warehouse, instance=ctx.config.server.instance_id, tls=ctx.config.server.tls,
                              audit=ctx.config.audit, sites=ctx.config.sites) as client:
            await seed(client)
            if not admin:
                return None
            password = await _demo_admin(client)
            await _goals_and_annotations(client, site, days, password)
            return password

    return asyncio.run(run())


async def _demo_admin(client: httpx.AsyncClient) -> str:
    """Create the demo admin, or give it a new password: only a hash is kept, so it is new each time."""
    password = secrets.token_urlsafe(12)
    if any(account["username"] == DEMO_ADMIN for account in checked(await client.get("/api/ops/users")).json()):
        checked(await client.patch(f"/api/ops/users/{DEMO_ADMIN}", json={"password": password, "role": "admin"}))
    else:
        checked(await client.post("/api/ops/users", json={"username": DEMO_ADMIN, "role": "admin",
                                                          "password": password}))
    return password


DEMO_GOALS = [{"name": "Appointment booked", "event": "appointment_request", "value": 150},
              {"name": "Contact form sent", "event": "contact_form", "value": 40},
              {"name": "Called us", "event": "phone_click", "value": 60},
              {"name": "Read about heart care", "page": "/services/card*"}]


async def _goals_and_annotations(client: httpx.AsyncClient, site: str, days: int, password: str) -> None:
    """The demo's goals, and annotations on the days its campaigns start and end, added by the demo admin as a
    marketer would (once: a second start finds them)."""
    token = checked(await client.post("/api/session", json={"username": DEMO_ADMIN, "password": password}))
    signed_in = {"authorization": f"Bearer {token.json()['token']}"}
    if checked(await client.get("/api/goals", params={"site": site}, headers=signed_in)).json():
        return
    for goal in DEMO_GOALS:
        checked(await client.post("/api/goals", json=goal | {"site": site}, headers=signed_in))
    today = datetime.now(UTC).date()
    for campaign, (first, last) in demo.CAMPAIGN_RUNS.items():
        for moment, what in ((first, "launched"), (last, "ended")):
            if 0 < moment < 1:
                day = today - timedelta(days=round(days * (1 - moment)))
                checked(await client.post("/api/annotations", headers=signed_in, json={
                    "site": site, "day": str(day), "text": f"{campaign.replace('-', ' ').capitalize()} campaign {what}"}))
    checked(await client.delete("/api/session", headers=signed_in))
