-- The same schema as PostgreSQL's 0013_identity.sql (see the comments there).
CREATE TABLE identity_pairs (
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    state    TEXT NOT NULL,
    manual   BOOLEAN NOT NULL,
    score    REAL NOT NULL DEFAULT 0,
    grade    TEXT NOT NULL DEFAULT '',
    evidence BLOB,
    note     TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    actor    TEXT NOT NULL DEFAULT '',
    va       INTEGER NOT NULL DEFAULT 0,
    vb       INTEGER NOT NULL DEFAULT 0,
    updated  INTEGER NOT NULL,
    PRIMARY KEY (a, b),
    CHECK (a < b)
) WITHOUT ROWID;
CREATE INDEX identity_pairs_b ON identity_pairs (b, a);
CREATE INDEX identity_pairs_review ON identity_pairs (state, score DESC, a, b);

CREATE TABLE identity_queue (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    res_id TEXT NOT NULL
);

CREATE TABLE identity_state (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO identity_queue (res_id) SELECT res_id FROM resources WHERE res_type = 'Patient' AND NOT deleted ORDER BY res_id;
