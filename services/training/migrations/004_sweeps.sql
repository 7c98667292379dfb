-- Hyperparameter sweeps: a plan and the jobs it queued.
CREATE TABLE training.sweeps (
  id         bigserial   PRIMARY KEY,
  -- kiln.v1.SweepPlan in protobuf JSON, as accepted.
  plan       jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE training.sweep_jobs (
  sweep_id bigint  NOT NULL REFERENCES training.sweeps (id) ON DELETE CASCADE,
  -- 0, 1, 2, ... in combination order.
  position integer NOT NULL CHECK (position >= 0),
  job_id   bigint  NOT NULL UNIQUE REFERENCES training.jobs (id) ON DELETE CASCADE,
  -- kiln.v1.SweepTrial in protobuf JSON: the job's grid values (its job_id
  -- is the column).
  trial    jsonb   NOT NULL,
  PRIMARY KEY (sweep_id, position)
);
