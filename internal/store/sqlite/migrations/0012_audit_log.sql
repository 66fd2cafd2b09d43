-- See PostgreSQL's 0012_audit_log.sql: the same table without partitions.
CREATE TABLE audit_log (
    recorded       INTEGER NOT NULL,
    chain          INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    prev           BLOB NOT NULL,
    hash           BLOB NOT NULL,
    action         TEXT NOT NULL DEFAULT '',
    interaction    TEXT NOT NULL DEFAULT '',
    status         INTEGER NOT NULL DEFAULT 0,
    type_system    TEXT NOT NULL DEFAULT '',
    type_code      TEXT NOT NULL DEFAULT '',
    type_display   TEXT NOT NULL DEFAULT '',
    subtypes       TEXT NOT NULL DEFAULT '',
    principal      BOOLEAN NOT NULL DEFAULT FALSE,
    issuer         TEXT NOT NULL DEFAULT '',
    subject        TEXT NOT NULL DEFAULT '',
    client_id      TEXT NOT NULL DEFAULT '',
    organization   TEXT NOT NULL DEFAULT '',
    token_id       TEXT NOT NULL DEFAULT '',
    purpose_of_use TEXT NOT NULL DEFAULT '',
    client_address TEXT NOT NULL DEFAULT '',
    server         TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL DEFAULT '',
    patient        TEXT NOT NULL DEFAULT '',
    entity_type    TEXT NOT NULL DEFAULT '',
    entity_id      TEXT NOT NULL DEFAULT '',
    entity_version INTEGER NOT NULL DEFAULT 0,
    query          TEXT NOT NULL DEFAULT '',
    request_id     TEXT NOT NULL DEFAULT '',
    labels         TEXT NOT NULL DEFAULT '',
    purpose        TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    legacy_id      TEXT NOT NULL DEFAULT '',
    legacy         BLOB,
    PRIMARY KEY (recorded, chain, seq)
);
CREATE INDEX audit_log_patient ON audit_log (patient, recorded, chain, seq) WHERE patient <> '';
CREATE INDEX audit_log_agent ON audit_log (subject, recorded, chain, seq) WHERE subject <> '';
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
