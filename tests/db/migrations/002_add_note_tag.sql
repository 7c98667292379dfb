ALTER TABLE notes ADD COLUMN tag text NOT NULL DEFAULT 'untagged';
CREATE INDEX notes_by_tag ON notes (tag);
