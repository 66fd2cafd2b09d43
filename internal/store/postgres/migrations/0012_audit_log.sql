-- The audit log (issue 15): one narrow row per BALP AuditEvent, appended by
-- the gateway's group-commit writer (COPY) or in the transaction of the write
-- it records, never updated. AuditEvents are rendered from these rows when
-- an auditor reads them; nothing is FHIR-encoded or search-indexed when a
-- request is audited.
--
-- Every row is chained: hash = SHA-256(prev || the row's canonical encoding)
-- within its chain (chain, seq = 1, 2, ...). A chain is written by one lane of
-- one gateway process at a time and never spans two months, so two gateways
-- need no lock to write, and a month detached for archiving verifies alone
-- (`mekong audit verify`).
--
-- Partitioned by month on `recorded` (µs since the epoch, like every time in
-- this schema). The gateway creates each month's partition (audit_log_yYYYYmMM)
-- before it is needed; audit_log_default only catches rows no partition was
-- made for. To archive a month:
--   ALTER TABLE audit_log DETACH PARTITION audit_log_y2026m01;  -- not CONCURRENTLY: PostgreSQL
--   refuses that while audit_log_default exists
--   pg_dump --table=audit_log_y2026m01 --format=custom mekong > audit-2026-01.dump
--   DROP TABLE audit_log_y2026m01;
-- (README "Audit log" has the whole procedure.)
--
-- Text columns are never NULL ('' means none), so the canonical encoding the
-- hash covers is the same whichever database wrote the row.
CREATE TABLE audit_log (
    recorded       BIGINT NOT NULL,
    chain          BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    prev           BYTEA NOT NULL,
    hash           BYTEA NOT NULL,
    action         TEXT COLLATE "C" NOT NULL DEFAULT '',
    interaction    TEXT COLLATE "C" NOT NULL DEFAULT '',
    status         INTEGER NOT NULL DEFAULT 0,
    type_system    TEXT COLLATE "C" NOT NULL DEFAULT '',
    type_code      TEXT COLLATE "C" NOT NULL DEFAULT '',
    type_display   TEXT NOT NULL DEFAULT '',
    subtypes       TEXT COLLATE "C" NOT NULL DEFAULT '',
    principal      BOOLEAN NOT NULL DEFAULT FALSE,
    issuer         TEXT COLLATE "C" NOT NULL DEFAULT '',
    subject        TEXT COLLATE "C" NOT NULL DEFAULT '',
    client_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    organization   TEXT COLLATE "C" NOT NULL DEFAULT '',
    token_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    purpose_of_use TEXT COLLATE "C" NOT NULL DEFAULT '',
    client_address TEXT COLLATE "C" NOT NULL DEFAULT '',
    server         TEXT COLLATE "C" NOT NULL DEFAULT '',
    source         TEXT COLLATE "C" NOT NULL DEFAULT '',
    patient        TEXT COLLATE "C" NOT NULL DEFAULT '',
    entity_type    TEXT COLLATE "C" NOT NULL DEFAULT '',
    entity_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    entity_version BIGINT NOT NULL DEFAULT 0,
    query          TEXT NOT NULL DEFAULT '',
    request_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    labels         TEXT COLLATE "C" NOT NULL DEFAULT '',
    purpose        TEXT COLLATE "C" NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    legacy_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    legacy         BYTEA,
    PRIMARY KEY (recorded, chain, seq)
) PARTITION BY RANGE (recorded);

CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- What auditors ask: whose data (patient, time), whose doing (agent, time),
-- when (the primary key). Rows are found newest first by these in key order.
CREATE INDEX audit_log_patient ON audit_log (patient, recorded, chain, seq) WHERE patient <> '';
CREATE INDEX audit_log_agent ON audit_log (subject, recorded, chain, seq) WHERE subject <> '';
-- AuditEvents migrated from before the log keep their ids.
CREATE INDEX audit_log_legacy ON audit_log (legacy_id) WHERE legacy_id <> '';

-- Derived search parameters (fhir/search/derived.go) are served at query
-- time from the rows of the parameters they repeat: Observation's combo-*
-- are unions of value and component.value, its patient is subject where a
-- Patient, Provenance's patient is target where a Patient. Their old rows go
-- (the :identifier rows of patient stay: they are kept).
DELETE FROM search_token WHERE res_type = 'Observation' AND param IN ('combo-code', 'combo-data-absent-reason', 'combo-value-concept');
DELETE FROM search_quantity WHERE res_type = 'Observation' AND param = 'combo-value-quantity';
DELETE FROM search_composite WHERE res_type = 'Observation' AND param IN ('combo-code-value-concept', 'combo-code-value-quantity');
DELETE FROM search_reference WHERE res_type IN ('Observation', 'Provenance') AND param = 'patient';
