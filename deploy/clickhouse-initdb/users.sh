#!/bin/bash
# Run once by the ClickHouse image on an empty data volume (compose.yaml mounts this directory at
# /docker-entrypoint-initdb.d): a user per Sluice service with the least it needs. The statements are
# what `sluice grants` prints, with the passwords compose passes in; a test keeps the two equal.
set -euo pipefail
for password in "$SLUICE_SERVE_PASSWORD" "$SLUICE_FORWARDER_PASSWORD"; do
    case "$password" in *"'"*|*'\'*) echo "the service users' passwords may not contain ' or \\" >&2; exit 1 ;; esac
done
clickhouse client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery <<SQL
-- sluice serve: migrates the schema at start, stores events, answers reports and keeps the audit log
CREATE USER IF NOT EXISTS sluice IDENTIFIED WITH sha256_password BY '${SLUICE_SERVE_PASSWORD}';
GRANT SELECT, INSERT, CREATE DATABASE, CREATE TABLE, CREATE VIEW, DROP TABLE, DROP VIEW, ALTER, ALTER UPDATE, ALTER DELETE, TRUNCATE, OPTIMIZE ON "sluice".* TO sluice;
REVOKE ALTER UPDATE, ALTER DELETE, ALTER DROP COLUMN, ALTER CLEAR COLUMN, ALTER MODIFY COLUMN, ALTER RENAME COLUMN, ALTER TTL, ALTER MATERIALIZE TTL, ALTER MOVE PARTITION, ALTER FETCH PARTITION, TRUNCATE, DROP TABLE, OPTIMIZE ON "sluice"."audit_log" FROM sluice;

-- sluice forwarder: reads the conversions it aggregates, appends to the outbox and its audit chain
CREATE USER IF NOT EXISTS sluice_forwarder IDENTIFIED WITH sha256_password BY '${SLUICE_FORWARDER_PASSWORD}';
GRANT SELECT ON "sluice"."events" TO sluice_forwarder;
GRANT SELECT ON "sluice"."visits" TO sluice_forwarder;
GRANT SELECT ON "sluice"."consent" TO sluice_forwarder;
GRANT SELECT ON "sluice"."schema_migrations" TO sluice_forwarder;
GRANT SELECT, INSERT ON "sluice"."outbox" TO sluice_forwarder;
GRANT SELECT, INSERT ON "sluice"."leases" TO sluice_forwarder;
GRANT SELECT, INSERT ON "sluice"."audit_log" TO sluice_forwarder;
SQL
