-- Search index tables, one per parameter type, holding the values of the
-- current version of each live resource (rows are replaced on every write and
-- removed on delete, in the write's transaction). Every table leads with
-- (res_type, param, value...) for lookups, ends with res_id so those
-- lookups are index-only, and has (res_type, res_id) for replacing rows.

ALTER TABLE search_token ADD COLUMN text TEXT COLLATE "C" NOT NULL DEFAULT '';
DROP INDEX search_token_lookup;
CREATE INDEX search_token_lookup ON search_token (res_type, param, code, system, res_id);
CREATE INDEX search_token_system ON search_token (res_type, param, system, res_id);
CREATE INDEX search_token_text ON search_token (res_type, param, text) WHERE text <> '';

CREATE TABLE search_string (
    res_type TEXT COLLATE "C" NOT NULL,
    res_id   TEXT COLLATE "C" NOT NULL,
    param    TEXT COLLATE "C" NOT NULL,
    norm     TEXT COLLATE "C" NOT NULL, -- case- and accent-folded, for prefix and :contains
    exact    TEXT COLLATE "C" NOT NULL  -- as written, for :exact
);
CREATE INDEX search_string_lookup ON search_string (res_type, param, norm, res_id);
CREATE INDEX search_string_exact ON search_string (res_type, param, exact);
CREATE INDEX search_string_resource ON search_string (res_type, res_id);

CREATE TABLE search_date (
    res_type TEXT COLLATE "C" NOT NULL,
    res_id   TEXT COLLATE "C" NOT NULL,
    param    TEXT COLLATE "C" NOT NULL,
    lo       BIGINT NOT NULL, -- [lo, hi) in microseconds since the epoch
    hi       BIGINT NOT NULL
);
CREATE INDEX search_date_lookup ON search_date (res_type, param, lo, hi, res_id);
CREATE INDEX search_date_hi ON search_date (res_type, param, hi);
CREATE INDEX search_date_resource ON search_date (res_type, res_id);

CREATE TABLE search_number (
    res_type TEXT COLLATE "C" NOT NULL,
    res_id   TEXT COLLATE "C" NOT NULL,
    param    TEXT COLLATE "C" NOT NULL,
    value    DOUBLE PRECISION NOT NULL
);
CREATE INDEX search_number_lookup ON search_number (res_type, param, value, res_id);
CREATE INDEX search_number_resource ON search_number (res_type, res_id);

CREATE TABLE search_quantity (
    res_type TEXT COLLATE "C" NOT NULL,
    res_id   TEXT COLLATE "C" NOT NULL,
    param    TEXT COLLATE "C" NOT NULL,
    value    DOUBLE PRECISION NOT NULL,
    system   TEXT COLLATE "C" NOT NULL,
    code     TEXT COLLATE "C" NOT NULL,
    unit     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX search_quantity_lookup ON search_quantity (res_type, param, code, value, res_id);
CREATE INDEX search_quantity_resource ON search_quantity (res_type, res_id);

CREATE TABLE search_reference (
    res_type    TEXT COLLATE "C" NOT NULL,
    res_id      TEXT COLLATE "C" NOT NULL,
    param       TEXT COLLATE "C" NOT NULL,
    target_type TEXT COLLATE "C" NOT NULL, -- local references
    target_id   TEXT COLLATE "C" NOT NULL,
    url         TEXT COLLATE "C" NOT NULL  -- absolute and canonical references
);
CREATE INDEX search_reference_lookup ON search_reference (res_type, param, target_id, target_type, res_id);
CREATE INDEX search_reference_target ON search_reference (target_type, target_id, res_type, param);
CREATE INDEX search_reference_url ON search_reference (res_type, param, url) WHERE url <> '';
CREATE INDEX search_reference_resource ON search_reference (res_type, res_id);

CREATE TABLE search_uri (
    res_type TEXT COLLATE "C" NOT NULL,
    res_id   TEXT COLLATE "C" NOT NULL,
    param    TEXT COLLATE "C" NOT NULL,
    uri      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX search_uri_lookup ON search_uri (res_type, param, uri, res_id);
CREATE INDEX search_uri_resource ON search_uri (res_type, res_id);

-- Composite tuples: a token first component and a second of any type.
CREATE TABLE search_composite (
    res_type     TEXT COLLATE "C" NOT NULL,
    res_id       TEXT COLLATE "C" NOT NULL,
    param        TEXT COLLATE "C" NOT NULL,
    system       TEXT COLLATE "C" NOT NULL,
    code         TEXT COLLATE "C" NOT NULL,
    value_system TEXT COLLATE "C" NOT NULL,
    value_code   TEXT COLLATE "C" NOT NULL,
    num          DOUBLE PRECISION NOT NULL,
    unit         TEXT COLLATE "C" NOT NULL,
    lo           BIGINT NOT NULL,
    hi           BIGINT NOT NULL,
    str          TEXT COLLATE "C" NOT NULL
);
CREATE INDEX search_composite_lookup ON search_composite (res_type, param, code, res_id);
CREATE INDEX search_composite_resource ON search_composite (res_type, res_id);

-- Keyset paging in the default order walks the primary key; by _lastUpdated this one.
CREATE INDEX resources_type_updated_id ON resources (res_type, last_updated, res_id);
