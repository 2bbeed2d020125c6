-- Up Migration
-- Live progress of long steps (Pulumi updates), written by the activity as the engine reports it.
CREATE TABLE operation_step_progress (
  operation_id text NOT NULL,
  run integer NOT NULL,
  step text NOT NULL,
  done integer NOT NULL,
  total integer NOT NULL,
  current text,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operation_id, run, step)
);
