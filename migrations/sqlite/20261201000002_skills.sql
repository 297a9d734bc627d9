-- Skills: a catalog of folders (SKILL.md + files). Content lives in encrypted,
-- content-addressed blobs shared by every skill with the same folder; rows here
-- carry the metadata, the SKILL.md body for search, and agents' reviews.
CREATE TABLE skill_blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE skills (
    -- FTS5 rowid: an INTEGER PRIMARY KEY keeps it stable across VACUUM.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    -- NULL: a public (operator) skill; else private to this platform.
    platform_id BLOB REFERENCES platforms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES skill_blobs(sha256),
    files TEXT NOT NULL,
    file_count BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('operator', 'platform', 'agent')),
    created_by_end_user_id BLOB REFERENCES end_users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX skills_private_name ON skills (platform_id, name) WHERE platform_id IS NOT NULL;
CREATE UNIQUE INDEX skills_public_name ON skills (name) WHERE platform_id IS NULL;
CREATE INDEX skills_sha256 ON skills (sha256);

-- Ranked text search (BM25) over name, description and the SKILL.md body.
CREATE VIRTUAL TABLE skills_fts USING fts5(
    name, description, body,
    content = 'skills', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER skills_fts_insert AFTER INSERT ON skills BEGIN
    INSERT INTO skills_fts (rowid, name, description, body)
    VALUES (new.seq, new.name, new.description, new.body);
END;
CREATE TRIGGER skills_fts_delete AFTER DELETE ON skills BEGIN
    INSERT INTO skills_fts (skills_fts, rowid, name, description, body)
    VALUES ('delete', old.seq, old.name, old.description, old.body);
END;
CREATE TRIGGER skills_fts_update AFTER UPDATE OF name, description, body ON skills BEGIN
    INSERT INTO skills_fts (skills_fts, rowid, name, description, body)
    VALUES ('delete', old.seq, old.name, old.description, old.body);
    INSERT INTO skills_fts (rowid, name, description, body)
    VALUES (new.seq, new.name, new.description, new.body);
END;

-- One review per end user per skill version; 1-5 on four dimensions.
CREATE TABLE skill_reviews (
    id BLOB PRIMARY KEY NOT NULL,
    skill_id BLOB NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    skill_version TEXT NOT NULL,
    platform_id BLOB NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id BLOB NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    correctness INTEGER NOT NULL CHECK (correctness BETWEEN 1 AND 5),
    clarity INTEGER NOT NULL CHECK (clarity BETWEEN 1 AND 5),
    safety INTEGER NOT NULL CHECK (safety BETWEEN 1 AND 5),
    usefulness INTEGER NOT NULL CHECK (usefulness BETWEEN 1 AND 5),
    comment TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (skill_id, skill_version, end_user_id)
);
CREATE INDEX skill_reviews_platform ON skill_reviews (skill_id, platform_id, created_at);
