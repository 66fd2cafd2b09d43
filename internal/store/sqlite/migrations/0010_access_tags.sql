-- See PostgreSQL's 0010_access_tags.sql.
-- Access tags of every version: its security labels ('label:system|code') and
-- the patients whose compartment it is in ('patient:id'). Reads, searches,
-- includes and history check them in SQL, so confidential data and other
-- patients' data stay invisible to callers without permission, including
-- old versions and deleted resources, which keep no search index rows.
-- (Numbered 0010 to leave 0004-0009 to branches developed in parallel.)
CREATE TABLE access_tags (
    res_type   TEXT NOT NULL,
    res_id     TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (res_type, res_id, version_id, tag)
) WITHOUT ROWID;

-- Backfill from the current index (older versions of existing data carry no labels).
INSERT INTO access_tags (res_type, res_id, version_id, tag)
SELECT r.res_type, r.res_id, r.version_id, 'label:' || t.system || '|' || t.code
FROM resources r JOIN search_token t ON t.res_type = r.res_type AND t.res_id = r.res_id
WHERE t.param = '_security' AND t.code <> ''
ON CONFLICT DO NOTHING;

INSERT INTO access_tags (res_type, res_id, version_id, tag)
SELECT res_type, res_id, version_id, 'patient:' || res_id FROM resource_versions WHERE res_type = 'Patient'
ON CONFLICT DO NOTHING;

INSERT INTO access_tags (res_type, res_id, version_id, tag)
SELECT r.res_type, r.res_id, r.version_id, 'patient:' || x.target_id
FROM resources r JOIN search_reference x ON x.res_type = r.res_type AND x.res_id = r.res_id
WHERE x.target_type = 'Patient' AND x.target_id <> ''
  AND ((r.res_type = 'Observation' AND x.param IN ('subject', 'performer')) OR (r.res_type = 'Immunization' AND x.param = 'patient'))
ON CONFLICT DO NOTHING;
