-- The same schema as PostgreSQL's 0004_bulk.sql (see the comments there).
CREATE TABLE bulk_jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    request          TEXT NOT NULL,
    params           BLOB NOT NULL,
    state            BLOB,
    error            TEXT NOT NULL DEFAULT '',
    created          INTEGER NOT NULL,
    transaction_time INTEGER NOT NULL,
    expires          INTEGER NOT NULL DEFAULT 0,
    owner            TEXT NOT NULL DEFAULT '',
    lease_until      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX bulk_jobs_claim ON bulk_jobs (status, created);

CREATE TABLE bulk_files (
    job_id   TEXT NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    res_type TEXT NOT NULL DEFAULT '',
    count    INTEGER NOT NULL DEFAULT 0,
    content  BLOB NOT NULL,
    PRIMARY KEY (job_id, kind, n)
) WITHOUT ROWID;
