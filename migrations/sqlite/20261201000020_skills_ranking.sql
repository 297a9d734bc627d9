-- find_skill ranks name and description matches first, on an FTS5 index of those
-- two columns only: their documents are short, so ranking thousands of matches of
-- a common word costs a fraction of ranking whole SKILL.md bodies. Body matches
-- come after, from skills_fts. Kept in step with `skills` by triggers.
CREATE VIRTUAL TABLE skills_head_fts USING fts5(
    name, description,
    content = 'skills', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER skills_head_fts_insert AFTER INSERT ON skills BEGIN
    INSERT INTO skills_head_fts (rowid, name, description)
    VALUES (new.seq, new.name, new.description);
END;
CREATE TRIGGER skills_head_fts_delete AFTER DELETE ON skills BEGIN
    INSERT INTO skills_head_fts (skills_head_fts, rowid, name, description)
    VALUES ('delete', old.seq, old.name, old.description);
END;
CREATE TRIGGER skills_head_fts_update AFTER UPDATE OF name, description ON skills BEGIN
    INSERT INTO skills_head_fts (skills_head_fts, rowid, name, description)
    VALUES ('delete', old.seq, old.name, old.description);
    INSERT INTO skills_head_fts (rowid, name, description)
    VALUES (new.seq, new.name, new.description);
END;
INSERT INTO skills_head_fts (skills_head_fts) VALUES ('rebuild');
