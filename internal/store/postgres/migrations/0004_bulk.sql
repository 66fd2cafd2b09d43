-- Bulk import and export jobs (https://hl7.org/fhir/R4/async.html). Job
-- state and files live here, not on an instance's disk or in its memory, so
-- any gateway instance behind the load balancer answers a status poll or
-- serves a file, and a job whose lease ran out (its instance died) is taken
-- over where its last committed batch left it.
CREATE TABLE bulk_jobs (
    id               TEXT COLLATE "C" PRIMARY KEY,
    kind             TEXT NOT NULL,            -- import | export
    status           TEXT NOT NULL,            -- queued | running | done | failed
    request          TEXT NOT NULL,            -- the kick-off URL, for the manifest
    params           BYTEA NOT NULL,           -- kick-off parameters (JSON)
    state            BYTEA,                    -- committed progress (JSON)
    error            TEXT NOT NULL DEFAULT '',
    created          BIGINT NOT NULL,          -- microseconds since the epoch
    transaction_time BIGINT NOT NULL,
    expires          BIGINT NOT NULL DEFAULT 0, -- 0 until finished
    owner            TEXT NOT NULL DEFAULT '',
    lease_until      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX bulk_jobs_claim ON bulk_jobs (status, created);

-- Uploaded input parts, output files and error files of a job.
CREATE TABLE bulk_files (
    job_id   TEXT COLLATE "C" NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
    kind     TEXT COLLATE "C" NOT NULL,       -- input | output | error | errpart
    n        INTEGER NOT NULL,
    res_type TEXT NOT NULL DEFAULT '',
    count    BIGINT NOT NULL DEFAULT 0,
    content  BYTEA NOT NULL,
    PRIMARY KEY (job_id, kind, n)
);
