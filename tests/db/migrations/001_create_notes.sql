-- A table named without its schema: migrations run with search_path set.
CREATE TABLE notes (
  id bigserial PRIMARY KEY,
  body text NOT NULL
);
