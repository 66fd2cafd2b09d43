-- The same schema as PostgreSQL's 0014_health_cards.sql (see the comments there).
CREATE TABLE health_card_keys (
    kid         TEXT PRIMARY KEY,
    public_jwk  TEXT NOT NULL,
    private_pem TEXT,
    signing     INTEGER UNIQUE,
    created     INTEGER NOT NULL,
    retired     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE health_card_secret (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB NOT NULL
);

CREATE TABLE health_card_revocations (
    kid     TEXT NOT NULL,
    rid     TEXT NOT NULL,
    before  INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL,
    reason  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kid, rid, before)
) WITHOUT ROWID;
