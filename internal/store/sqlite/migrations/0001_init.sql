-- The same schema as PostgreSQL's 0001_init.sql (see the comments there);
-- SQLite compares TEXT byte-wise, like the "C" collation.
CREATE TABLE resources (
    res_type     TEXT NOT NULL,
    res_id       TEXT NOT NULL,
    version_id   INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    deleted      BOOLEAN NOT NULL,
    tenant       TEXT NOT NULL DEFAULT '',
    content      BLOB,
    PRIMARY KEY (res_type, res_id)
) WITHOUT ROWID;
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);

CREATE TABLE resource_versions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    res_type     TEXT NOT NULL,
    res_id       TEXT NOT NULL,
    version_id   INTEGER NOT NULL,
    last_updated INTEGER NOT NULL,
    method       TEXT NOT NULL,
    deleted      BOOLEAN NOT NULL,
    tenant       TEXT NOT NULL DEFAULT '',
    content      BLOB,
    UNIQUE (res_type, res_id, version_id)
);
CREATE INDEX resource_versions_type_seq ON resource_versions (res_type, seq);
CREATE INDEX resource_versions_instance_seq ON resource_versions (res_type, res_id, seq);

CREATE TABLE search_token (
    res_type TEXT NOT NULL,
    res_id   TEXT NOT NULL,
    param    TEXT NOT NULL,
    system   TEXT NOT NULL,
    code     TEXT NOT NULL
);
CREATE INDEX search_token_lookup ON search_token (res_type, param, code, system);
CREATE INDEX search_token_resource ON search_token (res_type, res_id);
