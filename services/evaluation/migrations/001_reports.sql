CREATE TABLE evaluation.reports (
  id            bigserial   PRIMARY KEY,
  job_id        text        NOT NULL DEFAULT '',
  model         text        NOT NULL DEFAULT '',
  version       bigint      NOT NULL DEFAULT 0,
  bundle_sha256 text        NOT NULL CHECK (bundle_sha256 ~ '^[0-9a-f]{64}$'),
  -- kiln.v1.EvaluationReport in protobuf JSON.
  report        jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reports_job ON evaluation.reports (job_id, id);
CREATE INDEX reports_version ON evaluation.reports (model, version, id);
CREATE INDEX reports_bundle ON evaluation.reports (bundle_sha256, id);
