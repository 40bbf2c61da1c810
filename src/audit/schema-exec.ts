/** Execution tables MSO never had: runs, the append-only event log, attempts, agent calls, breakers, blobs. */
export const EXEC_TABLES_SQL = `
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY CHECK (length(trim(run_id)) > 0),
  skill_key TEXT,
  status TEXT NOT NULL CHECK (status IN ('created','active','awaiting_human','completed','failed','cancelled','archived')),
  goal TEXT,
  parent_run_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT,
  budget_usd REAL,
  metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata))
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_key TEXT NOT NULL UNIQUE,
  at TEXT NOT NULL,
  run_id TEXT NOT NULL CHECK (length(trim(run_id)) > 0),
  type TEXT NOT NULL CHECK (length(trim(type)) > 0),
  node_id TEXT,
  ticket_id TEXT,
  attempt_id TEXT,
  payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
);
CREATE INDEX IF NOT EXISTS idx_events_run ON events(run_id, seq);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TABLE IF NOT EXISTS attempts (
  attempt_id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  node_id TEXT,
  ticket_id TEXT,
  attempt_no INTEGER NOT NULL DEFAULT 1 CHECK (attempt_no >= 1),
  is_retry INTEGER NOT NULL DEFAULT 0 CHECK (is_retry IN (0,1)),
  stage TEXT,
  persona TEXT,
  agent TEXT,
  provider TEXT,
  model TEXT,
  status TEXT NOT NULL CHECK (status IN ('queued','running','success','failure','partial','blocked','timeout','cancelled')),
  queued_at TEXT,
  started_at TEXT,
  ended_at TEXT,
  duration_ms INTEGER,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cache_read_tokens INTEGER,
  cost_usd REAL,
  cost_source TEXT CHECK (cost_source IS NULL OR cost_source IN ('reported','estimated','none')),
  exit_code INTEGER,
  error_class TEXT,
  error_message TEXT,
  error_fingerprint TEXT,
  fallback_rule TEXT,
  files_changed TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(files_changed)),
  evidence TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(evidence))
);
CREATE INDEX IF NOT EXISTS idx_attempts_run ON attempts(run_id);
CREATE INDEX IF NOT EXISTS idx_attempts_fingerprint ON attempts(error_fingerprint);
CREATE INDEX IF NOT EXISTS idx_attempts_node ON attempts(run_id, node_id);
CREATE TABLE IF NOT EXISTS agent_calls (
  call_id TEXT PRIMARY KEY,
  attempt_id TEXT REFERENCES attempts(attempt_id) ON DELETE SET NULL,
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('cli','llm','shell','manual','judge')),
  agent TEXT,
  provider TEXT,
  model TEXT,
  request_blob TEXT,
  response_blob TEXT,
  transcript_blob TEXT,
  status TEXT NOT NULL,
  error_class TEXT,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  latency_ms INTEGER,
  first_token_ms INTEGER,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cache_read_tokens INTEGER,
  cost_usd REAL,
  cost_source TEXT CHECK (cost_source IS NULL OR cost_source IN ('reported','estimated','none'))
);
CREATE INDEX IF NOT EXISTS idx_agent_calls_run ON agent_calls(run_id);
CREATE INDEX IF NOT EXISTS idx_agent_calls_attempt ON agent_calls(attempt_id);
CREATE TABLE IF NOT EXISTS breaker_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  breaker TEXT NOT NULL,
  provider TEXT,
  model TEXT,
  from_state TEXT,
  to_state TEXT NOT NULL CHECK (to_state IN ('closed','open','half_open')),
  reason TEXT,
  metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics))
);
CREATE INDEX IF NOT EXISTS idx_breaker_events_breaker ON breaker_events(breaker, id);
CREATE TABLE IF NOT EXISTS blobs (
  hash TEXT PRIMARY KEY CHECK (length(hash) = 64),
  size INTEGER NOT NULL CHECK (size >= 0),
  media_type TEXT,
  created_at TEXT NOT NULL
);
`;
