-- Skills: a catalog of folders (SKILL.md + files). Content lives in encrypted,
-- content-addressed blobs shared by every skill with the same folder; rows here
-- carry the metadata, the SKILL.md body for search, and agents' reviews.
CREATE TABLE skill_blobs (
    sha256 TEXT PRIMARY KEY,
    size_bytes BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE skills (
    id UUID PRIMARY KEY,
    -- NULL: a public (operator) skill; else private to this platform.
    platform_id UUID REFERENCES platforms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES skill_blobs(sha256),
    files JSONB NOT NULL,
    file_count BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('operator', 'platform', 'agent')),
    created_by_end_user_id UUID REFERENCES end_users(id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    -- Ranked text search (ts_rank): name weighs most, then description, then body.
    search TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', description), 'B') ||
        setweight(to_tsvector('english', body), 'C')
    ) STORED
);
CREATE UNIQUE INDEX skills_private_name ON skills (platform_id, name) WHERE platform_id IS NOT NULL;
CREATE UNIQUE INDEX skills_public_name ON skills (name) WHERE platform_id IS NULL;
CREATE INDEX skills_sha256 ON skills (sha256);
CREATE INDEX skills_search ON skills USING GIN (search);

-- One review per end user per skill version; 1-5 on four dimensions.
CREATE TABLE skill_reviews (
    id UUID PRIMARY KEY,
    skill_id UUID NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
    skill_version TEXT NOT NULL,
    platform_id UUID NOT NULL REFERENCES platforms(id) ON DELETE CASCADE,
    end_user_id UUID NOT NULL REFERENCES end_users(id) ON DELETE CASCADE,
    correctness INTEGER NOT NULL CHECK (correctness BETWEEN 1 AND 5),
    clarity INTEGER NOT NULL CHECK (clarity BETWEEN 1 AND 5),
    safety INTEGER NOT NULL CHECK (safety BETWEEN 1 AND 5),
    usefulness INTEGER NOT NULL CHECK (usefulness BETWEEN 1 AND 5),
    comment TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (skill_id, skill_version, end_user_id)
);
CREATE INDEX skill_reviews_platform ON skill_reviews (skill_id, platform_id, created_at);
