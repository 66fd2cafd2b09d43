-- Resources: one row per logical resource holding the current version's bytes,
-- so a read is one primary-key lookup. Times are microseconds since the epoch.
-- Text keys use the "C" collation: exact, byte-wise, and ordered as on SQLite.
CREATE TABLE resources (
    res_type     TEXT COLLATE "C" NOT NULL,
    res_id       TEXT COLLATE "C" NOT NULL,
    version_id   BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    deleted      BOOLEAN NOT NULL,
    tenant       TEXT COLLATE "C" NOT NULL DEFAULT '', -- owning source system or organization
    content      BYTEA,                                -- NULL once deleted
    PRIMARY KEY (res_type, res_id)
);
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);

-- Every version ever written, in commit-ish order (seq) for history paging.
CREATE TABLE resource_versions (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    res_type     TEXT COLLATE "C" NOT NULL,
    res_id       TEXT COLLATE "C" NOT NULL,
    version_id   BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    method       TEXT NOT NULL,
    deleted      BOOLEAN NOT NULL,
    tenant       TEXT COLLATE "C" NOT NULL DEFAULT '',
    content      BYTEA,
    UNIQUE (res_type, res_id, version_id)
);
CREATE INDEX resource_versions_type_seq ON resource_versions (res_type, seq);
CREATE INDEX resource_versions_instance_seq ON resource_versions (res_type, res_id, seq);

-- Token search index of the current version, written in the write's transaction.
CREATE TABLE search_token (
    res_type TEXT COLLATE "C" NOT NULL,
    res_id   TEXT COLLATE "C" NOT NULL,
    param    TEXT COLLATE "C" NOT NULL,
    system   TEXT COLLATE "C" NOT NULL,
    code     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX search_token_lookup ON search_token (res_type, param, code, system);
CREATE INDEX search_token_resource ON search_token (res_type, res_id);
