-- find_skill searches a narrow side table instead of the wide `skills` rows:
-- `head` (name weighted A, description B) is small and stored inline, so
-- ranking thousands of matches of a common word reads little; `body` (the
-- SKILL.md body, positions stripped) only matches, for skills whose name and
-- description do not. Kept in step with `skills` by a trigger.
ALTER TABLE skills DROP COLUMN search;

CREATE TABLE skill_search (
    skill_id UUID PRIMARY KEY REFERENCES skills(id) ON DELETE CASCADE,
    platform_id UUID,
    head TSVECTOR NOT NULL,
    body TSVECTOR NOT NULL
);
CREATE INDEX skill_search_head ON skill_search USING GIN (head);
CREATE INDEX skill_search_body ON skill_search USING GIN (body);

CREATE FUNCTION skill_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO skill_search (skill_id, platform_id, head, body)
    VALUES (
        NEW.id,
        NEW.platform_id,
        setweight(to_tsvector('english', NEW.name), 'A') ||
            setweight(to_tsvector('english', NEW.description), 'B'),
        strip(to_tsvector('english', NEW.body))
    )
    ON CONFLICT (skill_id) DO UPDATE SET
        platform_id = EXCLUDED.platform_id, head = EXCLUDED.head, body = EXCLUDED.body;
    RETURN NULL;
END
$$;

CREATE TRIGGER skill_search_sync
    AFTER INSERT OR UPDATE OF name, description, body, platform_id ON skills
    FOR EACH ROW EXECUTE FUNCTION skill_search_sync();

INSERT INTO skill_search (skill_id, platform_id, head, body)
SELECT id, platform_id,
    setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', description), 'B'),
    strip(to_tsvector('english', body))
FROM skills;
