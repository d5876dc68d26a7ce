"""Cluster DDL can't run on one embedded engine, so it is checked as text and parsed by the engine."""

import re

import pytest

from warehouse import migration_sql
from warehouse.migrations import MIGRATIONS, render
from warehouse.schema import AUDIT_LOG, DAILY_EVENTS, DAILY_EVENTS_VIEW, EVENTS, LEASES, SCHEMA_MIGRATIONS, VISITS, Ddl

CLUSTER = Ddl(database="sluice", cluster="analytics")
SINGLE = Ddl(database="sluice")


def test_single_node_ddl_uses_plain_merge_tree_without_on_cluster():
    statements = [*render(migration_sql.BOOTSTRAP_SINGLE, SINGLE), *(s for m in MIGRATIONS for s in m.statements(SINGLE))]
    assert statements and all("ON CLUSTER" not in s and "Replicated" not in s for s in statements)
    assert all(re.search(r"ENGINE = \w*MergeTree", s) for s in statements if s.startswith("CREATE TABLE"))


def test_cluster_ddl_shards_events_behind_a_distributed_table():
    local, distributed = CLUSTER.create(EVENTS)
    assert local.startswith("CREATE TABLE IF NOT EXISTS `sluice`.`events_local` ON CLUSTER `analytics`")
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in local
    assert "PARTITION BY toYYYYMM(timestamp)" in local and "TTL toDateTime(timestamp)" in local
    assert distributed.startswith("CREATE TABLE IF NOT EXISTS `sluice`.`events` ON CLUSTER `analytics`")
    assert "ENGINE = Distributed(`analytics`, `sluice`, `events_local`, cityHash64(visitor_id))" in distributed


def test_cluster_rollups_replicate_their_engine_and_views_feed_local_tables():
    local, distributed = CLUSTER.create(VISITS)
    assert "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in local
    # Sharded like events, by visitor: each shard's view sees whole visits.
    assert "ENGINE = Distributed(`analytics`, `sluice`, `visits_local`, cityHash64(visitor_id))" in distributed
    assert "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in (
        CLUSTER.create(DAILY_EVENTS)[0])
    view = CLUSTER.create_view("daily_events_view", DAILY_EVENTS, EVENTS, DAILY_EVENTS_VIEW)
    assert "TO `sluice`.`daily_events_local`" in view and "FROM `sluice`.`events_local`" in view


def test_the_cluster_migrations_make_visits_the_same_way():
    statements = "\n".join(next(m for m in MIGRATIONS if m.version == 10).statements(CLUSTER))
    assert "CREATE TABLE IF NOT EXISTS `sluice`.`visits_local` ON CLUSTER `analytics`" in statements
    assert "Distributed(`analytics`, `sluice`, `visits_local`, cityHash64(visitor_id))" in statements
    assert "TO `sluice`.`visits_local` AS" in statements and "FROM `sluice`.`events_local`" in statements
    assert "non_replicated_deduplication_window" not in statements  # replicated tables deduplicate by themselves


@pytest.mark.parametrize("table", [AUDIT_LOG, SCHEMA_MIGRATIONS, LEASES])
def test_cluster_ddl_replicates_small_tables_to_every_node(table):
    (statement,) = CLUSTER.create(table)
    assert f"`sluice`.`{table.name}` ON CLUSTER `analytics`" in statement
    assert "ReplicatedMergeTree('/clickhouse/tables/{database}/{table}', '{replica}')" in statement


def test_cluster_alters_target_the_local_tables_on_every_node():
    statements = Ddl(database="sluice", cluster="analytics", retention_months=13).retention()
    assert {s.split(" ON CLUSTER")[0] for s in statements} == {
        "ALTER TABLE `sluice`.`events_local`", "ALTER TABLE `sluice`.`visits_local`",
        "ALTER TABLE `sluice`.`daily_events_local`", "ALTER TABLE `sluice`.`daily_names_local`",
        "ALTER TABLE `sluice`.`visit_days_local`", "ALTER TABLE `sluice`.`visit_cells`", "ALTER TABLE `sluice`.`visit_cell_days`"}
    assert all(" ON CLUSTER `analytics` MODIFY" in s for s in statements)


def test_cluster_database_is_created_on_every_node():
    assert CLUSTER.create_database() == "CREATE DATABASE IF NOT EXISTS `sluice` ON CLUSTER `analytics`"


def test_every_generated_cluster_statement_parses_in_clickhouse(warehouse):
    statements = [*render(migration_sql.BOOTSTRAP_CLUSTER, CLUSTER), *CLUSTER.retention()]
    statements += [s for m in MIGRATIONS for s in m.statements(CLUSTER)]
    for statement in statements:
        formatted = warehouse.client.query("SELECT formatQuery({q:String})", parameters={"q": statement}).result_rows
        # Inserts (backfills) go through the cluster's Distributed tables, so only DDL names the cluster.
        assert "ON CLUSTER analytics" in formatted[0][0] or formatted[0][0].startswith("INSERT INTO sluice.")
