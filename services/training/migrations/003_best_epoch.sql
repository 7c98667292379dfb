-- kiln.v1.EpochMetrics (protobuf JSON) of the epoch whose weights the job
-- ships: the last one its worker reported as the best so far (K10).
ALTER TABLE training.jobs ADD COLUMN best_epoch jsonb;
