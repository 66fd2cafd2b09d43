-- SMART Health Cards (https://hl7.org/fhir/uv/smart-health-cards-and-links/cards-specification.html).
-- The issuer key and the revocation-id secret live here rather than on an
-- instance's disk, so every gateway instance over this database signs with
-- the same key, publishes the same JWKS and computes the same rids.
CREATE TABLE health_card_keys (
    kid         TEXT COLLATE "C" PRIMARY KEY,  -- RFC 7638 thumbprint
    public_jwk  TEXT NOT NULL,
    private_pem TEXT,                          -- NULL once retired: retired private keys SHALL be destroyed
    signing     INTEGER UNIQUE,                -- 1 for the one signing key, NULL for retired keys
    created     BIGINT NOT NULL,               -- microseconds since the epoch
    retired     BIGINT NOT NULL DEFAULT 0
);

-- The HMAC secret of revocation ids: rid = base64url(HMAC-SHA-256(secret || kid, patient id)[0:8]).
CREATE TABLE health_card_secret (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret BYTEA NOT NULL
);

-- Revoked rids per key: the Card Revocation List at /.well-known/crl/<kid>.json.
CREATE TABLE health_card_revocations (
    kid     TEXT COLLATE "C" NOT NULL,
    rid     TEXT COLLATE "C" NOT NULL,
    before  BIGINT NOT NULL DEFAULT 0,   -- seconds since the epoch; 0 revokes every card with the rid
    revoked BIGINT NOT NULL,             -- microseconds since the epoch
    reason  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kid, rid, before)
);
