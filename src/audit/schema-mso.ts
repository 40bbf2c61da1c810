/**
 * The MSO audit schema (v1.5.0 layout: audit_logs with the work-tracking columns, decisions, evidence, impacts,
 * tags, document_references, user_feedback and its trigger, node_snapshots, suggestion_history, FTS5 indexes,
 * views). Every statement is idempotent (`IF NOT EXISTS`), so it also completes a 1.4.0 database once the v1.5
 * columns exist — they are added first, which is the step the upstream 1.4 → 1.5 upgrade got wrong.
 */

/** Columns v1.5.0 added to `audit_logs`, with their declarations (added by ALTER TABLE to older databases). */
export const AUDIT_LOGS_V15_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  [
    'work_type',
    "TEXT CHECK (work_type IS NULL OR work_type IN ('execution','modification','structure','document','skill','error','review'))",
  ],
  ['triggered_by', "TEXT CHECK (triggered_by IS NULL OR triggered_by IN ('user_request','auto','hook'))"],
  ['duration_sec', 'REAL'],
  ['files_affected', 'TEXT'],
  ['sprint', 'TEXT'],
  ['pattern_tag', 'TEXT'],
  ['session_id', 'TEXT'],
  ['intent', 'TEXT'],
];

/** Columns mso adds to `audit_logs` for correlation and idempotency. */
export const AUDIT_LOGS_MSO_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['run_id', 'TEXT'],
  ['payload_hash', 'TEXT'],
  ['payload', 'TEXT'],
];

export const MSO_TABLES_SQL = `
CREATE TABLE IF NOT EXISTS audit_logs (
  id TEXT PRIMARY KEY CHECK (id LIKE 'TASK-%' AND length(id) > 5),
  date DATE NOT NULL,
  task_name TEXT NOT NULL CHECK (length(trim(task_name)) > 0),
  mode TEXT NOT NULL CHECK (length(trim(mode)) > 0),
  action TEXT NOT NULL CHECK (length(trim(action)) > 0),
  input_path TEXT,
  output_path TEXT,
  script_path TEXT,
  status TEXT NOT NULL DEFAULT 'in_progress' CHECK (status IN ('success','fail','in_progress')),
  notes TEXT,
  context_for_next TEXT,
  continuation_hint TEXT,
  transition_repeated INTEGER NOT NULL DEFAULT 0 CHECK (transition_repeated IN (0,1)),
  transition_reuse INTEGER NOT NULL DEFAULT 0 CHECK (transition_reuse IN (0,1)),
  transition_decision INTEGER NOT NULL DEFAULT 0 CHECK (transition_decision IN (0,1)),
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS decisions (
  id TEXT PRIMARY KEY CHECK (id LIKE 'DEC-%' AND length(id) > 4),
  date DATE NOT NULL,
  title TEXT NOT NULL CHECK (length(trim(title)) > 0),
  context TEXT,
  decision_content TEXT,
  requested_by TEXT,
  approved_by TEXT,
  related_audit_id TEXT REFERENCES audit_logs(id) ON DELETE SET NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS evidence (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  decision_id TEXT NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (length(trim(type)) > 0),
  ref_path TEXT NOT NULL,
  description TEXT
);
CREATE TABLE IF NOT EXISTS impacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  decision_id TEXT NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
  domain TEXT NOT NULL CHECK (length(trim(domain)) > 0),
  description TEXT,
  reversibility TEXT CHECK (reversibility IS NULL OR reversibility IN ('High','Medium','Low'))
);
CREATE TABLE IF NOT EXISTS tags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE NOT NULL
);
CREATE TABLE IF NOT EXISTS decision_tags (
  decision_id TEXT NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
  tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
  PRIMARY KEY (decision_id, tag_id)
);
CREATE TABLE IF NOT EXISTS document_references (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT,
  file_path TEXT NOT NULL,
  reference_type TEXT NOT NULL DEFAULT 'mention' CHECK (reference_type IN ('mention','read','edit','create')),
  context TEXT,
  related_task_id TEXT REFERENCES audit_logs(id) ON DELETE SET NULL,
  referenced_by TEXT NOT NULL DEFAULT 'agent' CHECK (referenced_by IN ('user','agent')),
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS user_feedback (
  id TEXT PRIMARY KEY CHECK (id LIKE 'FB-%'),
  date DATE NOT NULL,
  user_id TEXT,
  feedback_text TEXT NOT NULL CHECK (length(trim(feedback_text)) > 0),
  source_ref_path TEXT,
  impact_domain TEXT NOT NULL DEFAULT 'workflow',
  impact_summary TEXT,
  reversibility TEXT CHECK (reversibility IS NULL OR reversibility IN ('High','Medium','Low')),
  related_audit_id TEXT REFERENCES audit_logs(id) ON DELETE SET NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS node_snapshots (
  id TEXT PRIMARY KEY CHECK (id LIKE 'SNAP-%' AND length(id) > 5),
  run_id TEXT NOT NULL CHECK (length(trim(run_id)) > 0),
  node_id TEXT NOT NULL CHECK (length(trim(node_id)) > 0),
  node_type TEXT NOT NULL CHECK (node_type IN ('commit','branch','merge')),
  parent_refs TEXT NOT NULL DEFAULT '[]',
  tree_hash_type TEXT NOT NULL DEFAULT 'sha256' CHECK (tree_hash_type IN ('sha256')),
  tree_hash_ref TEXT,
  agent_role TEXT NOT NULL DEFAULT 'execution' CHECK (agent_role IN ('provisioning','execution','handoff','branching','critic_judge','sentinel')),
  phase INTEGER NOT NULL DEFAULT 2 CHECK (phase BETWEEN 1 AND 4),
  input_artifact_uri TEXT,
  output_artifact_uri TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','active','committed','merged','rolled_back','failed')),
  merge_policy TEXT,
  fallback_target TEXT,
  metadata TEXT DEFAULT '{}',
  related_audit_id TEXT REFERENCES audit_logs(id) ON DELETE SET NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS suggestion_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  suggestion_type TEXT NOT NULL CHECK (suggestion_type IN ('pattern_tag','merge','policy_change','improvement')),
  source_work_type TEXT,
  source_files TEXT,
  suggestion_text TEXT NOT NULL,
  accepted INTEGER NOT NULL DEFAULT 0 CHECK (accepted IN (0,1)),
  rejected_weight REAL NOT NULL DEFAULT 0.0,
  related_audit_id TEXT REFERENCES audit_logs(id) ON DELETE SET NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS _skill_meta (k TEXT PRIMARY KEY, v TEXT);
`;

export const MSO_INDEXES_SQL = `
CREATE INDEX IF NOT EXISTS idx_audit_logs_date ON audit_logs(date);
CREATE INDEX IF NOT EXISTS idx_audit_logs_mode ON audit_logs(mode);
CREATE INDEX IF NOT EXISTS idx_audit_logs_status ON audit_logs(status);
CREATE INDEX IF NOT EXISTS idx_audit_logs_work_type ON audit_logs(work_type);
CREATE INDEX IF NOT EXISTS idx_audit_logs_session_id ON audit_logs(session_id);
CREATE INDEX IF NOT EXISTS idx_audit_logs_sprint ON audit_logs(sprint);
CREATE INDEX IF NOT EXISTS idx_audit_logs_pattern_tag ON audit_logs(pattern_tag);
CREATE INDEX IF NOT EXISTS idx_decisions_date ON decisions(date);
CREATE INDEX IF NOT EXISTS idx_decisions_related_audit ON decisions(related_audit_id);
CREATE INDEX IF NOT EXISTS idx_evidence_decision ON evidence(decision_id);
CREATE INDEX IF NOT EXISTS idx_impacts_decision ON impacts(decision_id);
CREATE INDEX IF NOT EXISTS idx_impacts_domain ON impacts(domain);
CREATE INDEX IF NOT EXISTS idx_docref_path ON document_references(file_path);
CREATE INDEX IF NOT EXISTS idx_docref_session ON document_references(session_id);
CREATE INDEX IF NOT EXISTS idx_docref_created ON document_references(created_at);
CREATE INDEX IF NOT EXISTS idx_docref_related_task ON document_references(related_task_id);
CREATE INDEX IF NOT EXISTS idx_user_feedback_date ON user_feedback(date);
CREATE INDEX IF NOT EXISTS idx_user_feedback_audit ON user_feedback(related_audit_id);
CREATE INDEX IF NOT EXISTS idx_snapshots_run ON node_snapshots(run_id);
CREATE INDEX IF NOT EXISTS idx_snapshots_node ON node_snapshots(node_id);
CREATE INDEX IF NOT EXISTS idx_snapshots_type ON node_snapshots(node_type);
CREATE INDEX IF NOT EXISTS idx_snapshots_hash ON node_snapshots(tree_hash_ref);
CREATE INDEX IF NOT EXISTS idx_snapshots_status ON node_snapshots(status);
CREATE INDEX IF NOT EXISTS idx_snapshots_phase ON node_snapshots(phase);
CREATE INDEX IF NOT EXISTS idx_suggestion_type ON suggestion_history(suggestion_type);
CREATE INDEX IF NOT EXISTS idx_suggestion_accepted ON suggestion_history(accepted);
CREATE INDEX IF NOT EXISTS idx_audit_logs_run ON audit_logs(run_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_audit_logs_payload_hash ON audit_logs(payload_hash) WHERE payload_hash IS NOT NULL;
`;

/** FTS5 external-content indexes and their sync triggers. */
export const MSO_FTS_SQL = `
CREATE VIRTUAL TABLE IF NOT EXISTS audit_logs_fts USING fts5(id, task_name, action, notes, work_type, intent, content='audit_logs', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS audit_logs_fts_ai AFTER INSERT ON audit_logs BEGIN
  INSERT INTO audit_logs_fts(rowid, id, task_name, action, notes, work_type, intent)
  VALUES (new.rowid, new.id, new.task_name, new.action, new.notes, new.work_type, new.intent);
END;
CREATE TRIGGER IF NOT EXISTS audit_logs_fts_ad AFTER DELETE ON audit_logs BEGIN
  INSERT INTO audit_logs_fts(audit_logs_fts, rowid, id, task_name, action, notes, work_type, intent)
  VALUES ('delete', old.rowid, old.id, old.task_name, old.action, old.notes, old.work_type, old.intent);
END;
CREATE TRIGGER IF NOT EXISTS audit_logs_fts_au AFTER UPDATE ON audit_logs BEGIN
  INSERT INTO audit_logs_fts(audit_logs_fts, rowid, id, task_name, action, notes, work_type, intent)
  VALUES ('delete', old.rowid, old.id, old.task_name, old.action, old.notes, old.work_type, old.intent);
  INSERT INTO audit_logs_fts(rowid, id, task_name, action, notes, work_type, intent)
  VALUES (new.rowid, new.id, new.task_name, new.action, new.notes, new.work_type, new.intent);
END;
CREATE VIRTUAL TABLE IF NOT EXISTS decisions_fts USING fts5(id, title, context, decision_content, content='decisions', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS decisions_fts_ai AFTER INSERT ON decisions BEGIN
  INSERT INTO decisions_fts(rowid, id, title, context, decision_content) VALUES (new.rowid, new.id, new.title, new.context, new.decision_content);
END;
CREATE TRIGGER IF NOT EXISTS decisions_fts_ad AFTER DELETE ON decisions BEGIN
  INSERT INTO decisions_fts(decisions_fts, rowid, id, title, context, decision_content) VALUES ('delete', old.rowid, old.id, old.title, old.context, old.decision_content);
END;
CREATE TRIGGER IF NOT EXISTS decisions_fts_au AFTER UPDATE ON decisions BEGIN
  INSERT INTO decisions_fts(decisions_fts, rowid, id, title, context, decision_content) VALUES ('delete', old.rowid, old.id, old.title, old.context, old.decision_content);
  INSERT INTO decisions_fts(rowid, id, title, context, decision_content) VALUES (new.rowid, new.id, new.title, new.context, new.decision_content);
END;
CREATE VIRTUAL TABLE IF NOT EXISTS node_snapshots_fts USING fts5(id, node_id, node_type, status, content='node_snapshots', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS node_snapshots_fts_ai AFTER INSERT ON node_snapshots BEGIN
  INSERT INTO node_snapshots_fts(rowid, id, node_id, node_type, status) VALUES (new.rowid, new.id, new.node_id, new.node_type, new.status);
END;
CREATE TRIGGER IF NOT EXISTS node_snapshots_fts_ad AFTER DELETE ON node_snapshots BEGIN
  INSERT INTO node_snapshots_fts(node_snapshots_fts, rowid, id, node_id, node_type, status) VALUES ('delete', old.rowid, old.id, old.node_id, old.node_type, old.status);
END;
CREATE TRIGGER IF NOT EXISTS node_snapshots_fts_au AFTER UPDATE ON node_snapshots BEGIN
  INSERT INTO node_snapshots_fts(node_snapshots_fts, rowid, id, node_id, node_type, status) VALUES ('delete', old.rowid, old.id, old.node_id, old.node_type, old.status);
  INSERT INTO node_snapshots_fts(rowid, id, node_id, node_type, status) VALUES (new.rowid, new.id, new.node_id, new.node_type, new.status);
END;
`;

/** `updated_at` maintenance and the user-feedback → decision/evidence/impact trigger. */
export const MSO_TRIGGERS_SQL = `
CREATE TRIGGER IF NOT EXISTS audit_logs_updated_at AFTER UPDATE ON audit_logs
  WHEN NEW.updated_at IS OLD.updated_at BEGIN
  UPDATE audit_logs SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS decisions_updated_at AFTER UPDATE ON decisions
  WHEN NEW.updated_at IS OLD.updated_at BEGIN
  UPDATE decisions SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS user_feedback_updated_at AFTER UPDATE ON user_feedback
  WHEN NEW.updated_at IS OLD.updated_at BEGIN
  UPDATE user_feedback SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS node_snapshots_updated_at AFTER UPDATE ON node_snapshots
  WHEN NEW.updated_at IS OLD.updated_at BEGIN
  UPDATE node_snapshots SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;
CREATE TRIGGER IF NOT EXISTS user_feedback_ai AFTER INSERT ON user_feedback BEGIN
  INSERT INTO decisions (id, date, title, context, decision_content, requested_by, approved_by, related_audit_id)
  VALUES ('DEC-' || NEW.id, NEW.date, '[AUTO] user feedback decision: ' || NEW.id, 'auto-generated from user_feedback',
          NEW.feedback_text, COALESCE(NEW.user_id, 'user'), 'auto-feedback-rule', NEW.related_audit_id);
  INSERT INTO evidence (decision_id, type, ref_path, description)
  VALUES ('DEC-' || NEW.id, 'user_feedback', COALESCE(NEW.source_ref_path, 'feedback:' || NEW.id), NEW.feedback_text);
  INSERT INTO impacts (decision_id, domain, description, reversibility)
  VALUES ('DEC-' || NEW.id, NEW.impact_domain, COALESCE(NEW.impact_summary, NEW.feedback_text), COALESCE(NEW.reversibility, 'Medium'));
END;
`;

export const MSO_VIEWS_SQL = `
CREATE VIEW IF NOT EXISTS v_document_frequency AS
  SELECT file_path, referenced_by, COUNT(*) AS ref_count, MAX(created_at) AS last_referenced_at,
         GROUP_CONCAT(DISTINCT reference_type) AS reference_types
  FROM document_references GROUP BY file_path, referenced_by;
CREATE VIEW IF NOT EXISTS v_user_document_frequency AS
  SELECT file_path, COUNT(*) AS ref_count, MAX(created_at) AS last_referenced_at, GROUP_CONCAT(DISTINCT reference_type) AS reference_types
  FROM document_references WHERE referenced_by = 'user' GROUP BY file_path ORDER BY ref_count DESC;
CREATE VIEW IF NOT EXISTS v_agent_document_frequency AS
  SELECT file_path, COUNT(*) AS ref_count, MAX(created_at) AS last_referenced_at, GROUP_CONCAT(DISTINCT reference_type) AS reference_types
  FROM document_references WHERE referenced_by = 'agent' GROUP BY file_path ORDER BY ref_count DESC;
CREATE VIEW IF NOT EXISTS v_recent_user_documents AS
  SELECT file_path, reference_type, context, created_at FROM document_references
  WHERE referenced_by = 'user' ORDER BY created_at DESC, id DESC LIMIT 20;
CREATE VIEW IF NOT EXISTS v_open_followups AS
  SELECT id, date, task_name, continuation_hint, context_for_next FROM audit_logs
  WHERE status = 'success' AND continuation_hint IS NOT NULL AND length(trim(continuation_hint)) > 0;
CREATE VIEW IF NOT EXISTS v_snapshot_lineage AS
  SELECT s.id, s.run_id, s.node_id, s.node_type, s.parent_refs, s.tree_hash_ref, s.agent_role, s.phase, s.status,
         s.fallback_target, s.created_at, a.task_name AS audit_task_name, a.status AS audit_status
  FROM node_snapshots s LEFT JOIN audit_logs a ON a.id = s.related_audit_id ORDER BY s.created_at, s.rowid;
CREATE VIEW IF NOT EXISTS v_work_type_distribution AS
  SELECT work_type, COUNT(*) AS cnt,
         ROUND(100.0 * COUNT(*) / (SELECT COUNT(*) FROM audit_logs WHERE work_type IS NOT NULL), 1) AS pct,
         SUM(CASE WHEN status = 'fail' THEN 1 ELSE 0 END) AS fail_cnt, AVG(duration_sec) AS avg_duration_sec
  FROM audit_logs WHERE work_type IS NOT NULL GROUP BY work_type;
CREATE VIEW IF NOT EXISTS v_pattern_candidates AS
  SELECT work_type, files_affected, COUNT(*) AS occurrences, GROUP_CONCAT(id) AS audit_ids
  FROM audit_logs WHERE work_type IS NOT NULL AND files_affected IS NOT NULL
  GROUP BY work_type, files_affected HAVING COUNT(*) >= 3;
CREATE VIEW IF NOT EXISTS v_file_hotspots AS
  SELECT files_affected, COUNT(*) AS total_refs, SUM(CASE WHEN status = 'fail' THEN 1 ELSE 0 END) AS fail_refs,
         GROUP_CONCAT(DISTINCT work_type) AS work_types
  FROM audit_logs WHERE files_affected IS NOT NULL GROUP BY files_affected;
`;
