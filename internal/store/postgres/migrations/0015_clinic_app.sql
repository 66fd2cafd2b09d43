-- The clinic page (internal/app): browser sessions and break-the-glass
-- grants. Both live here, not in an instance's memory, so two gateway
-- instances on one database act as one server: a user signed in through one
-- is signed in on the other, and a grant made on one opens the record on
-- both (the access filter reads break_glass for each request of a user who
-- may break the glass).
CREATE TABLE app_sessions (
    id         TEXT COLLATE "C" PRIMARY KEY, -- SHA-256 (hex) of the cookie's secret
    principal  BYTEA NOT NULL,               -- the signed-in user (JSON)
    csrf       TEXT NOT NULL,
    created    BIGINT NOT NULL,              -- microseconds since the epoch
    last_seen  BIGINT NOT NULL,
    expires    BIGINT NOT NULL
);
CREATE INDEX app_sessions_last_seen ON app_sessions (last_seen);

CREATE TABLE break_glass (
    id       TEXT COLLATE "C" PRIMARY KEY,
    issuer   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    patient  TEXT COLLATE "C" NOT NULL,
    reason   TEXT NOT NULL,
    started  BIGINT NOT NULL,
    expires  BIGINT NOT NULL
);
CREATE INDEX break_glass_user ON break_glass (subject, issuer, expires);
