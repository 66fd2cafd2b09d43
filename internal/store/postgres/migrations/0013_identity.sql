-- Identity links between Patients (issue 11). Blocking keys are not here:
-- they are search_token rows of the internal parameter '_matchkey', written,
-- replaced and cleared with each Patient's index in its write's transaction.

-- The decision about two Patients (a < b): linked (one person), review (the
-- engine found a probable match; a steward decides) or distinct (a steward
-- said they are different people). manual marks a steward's decision, which
-- the engine never changes. Evidence holds names and identifiers: it is
-- returned to stewards only and never logged.
CREATE TABLE identity_pairs (
    a        TEXT COLLATE "C" NOT NULL,
    b        TEXT COLLATE "C" NOT NULL,
    state    TEXT COLLATE "C" NOT NULL,
    manual   BOOLEAN NOT NULL,
    score    DOUBLE PRECISION NOT NULL DEFAULT 0,
    grade    TEXT NOT NULL DEFAULT '',
    evidence BYTEA,
    note     TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    actor    TEXT NOT NULL DEFAULT '',
    va       BIGINT NOT NULL DEFAULT 0, -- versions compared
    vb       BIGINT NOT NULL DEFAULT 0,
    updated  BIGINT NOT NULL,           -- microseconds since the epoch
    PRIMARY KEY (a, b),
    CHECK (a < b)
);
CREATE INDEX identity_pairs_b ON identity_pairs (b, a);
-- The review queue, best score first, in keyset order.
CREATE INDEX identity_pairs_review ON identity_pairs (state, score DESC, a, b);

-- Patients written since the linker last looked at them: the store adds a
-- row for every Patient version it writes, by any path, in the write's
-- transaction; the linker deletes rows when their decisions commit. A
-- durable queue in the database, so every gateway instance works it and a
-- crash loses nothing.
CREATE TABLE identity_queue (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    res_id TEXT COLLATE "C" NOT NULL
);

-- Identity settings the gateways share: key_version is the matcher's key
-- version the stored blocking keys were made with; a gateway started with
-- another queues every Patient once, so the linker makes their keys again.
CREATE TABLE identity_state (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

-- Patients stored before this migration are linked (and given keys) once.
INSERT INTO identity_queue (res_id) SELECT res_id FROM resources WHERE res_type = 'Patient' AND NOT deleted ORDER BY res_id;
