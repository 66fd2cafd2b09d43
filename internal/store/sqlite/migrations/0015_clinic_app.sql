-- The same schema as PostgreSQL's 0015_clinic_app.sql (see the comments there).
CREATE TABLE app_sessions (
    id         TEXT PRIMARY KEY,
    principal  BLOB NOT NULL,
    csrf       TEXT NOT NULL,
    created    INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX app_sessions_last_seen ON app_sessions (last_seen);

CREATE TABLE break_glass (
    id       TEXT PRIMARY KEY,
    issuer   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    patient  TEXT NOT NULL,
    reason   TEXT NOT NULL,
    started  INTEGER NOT NULL,
    expires  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX break_glass_user ON break_glass (subject, issuer, expires);
