import { useState } from 'react';
import { enc, get, post } from './api.js';
import { ago } from './format.js';
import { useLiveData } from './live.js';

interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}
interface Proposal {
  id: string;
  run_id: string;
  created_at: string;
  target: string;
  summary: string;
  patch: PatchOp[];
  expected_effect: string;
  rollback_rule: string;
  finding: { kind: string; severity: string; message: string; evidence: string[] };
  gate: string | null;
  status: 'pending' | 'accepted' | 'rejected';
  decided_by: string | null;
  reason: string | null;
}

/** The patch as diff lines: removals red, additions green, each with its JSON Pointer. */
function PatchDiff({ patch }: { patch: PatchOp[] }): React.JSX.Element {
  const lines: Array<{ sign: '+' | '-' | ' '; text: string }> = [];
  for (const p of patch) {
    const v = (x: unknown): string => JSON.stringify(x, null, 2) ?? 'null';
    if (p.op === 'remove') lines.push({ sign: '-', text: `${p.path}` });
    else if (p.op === 'replace') {
      lines.push({ sign: '-', text: `${p.path}: (current value)` });
      for (const l of `${p.path}: ${v(p.value)}`.split('\n')) lines.push({ sign: '+', text: l });
    } else if (p.op === 'add')
      for (const l of `${p.path}: ${v(p.value)}`.split('\n')) lines.push({ sign: '+', text: l });
    else lines.push({ sign: ' ', text: `${p.op} ${p.from ?? ''} → ${p.path}` });
  }
  return (
    <pre className="patch">
      {lines.map((l, i) => (
        <div key={i} className={l.sign === '+' ? 'add' : l.sign === '-' ? 'del' : ''}>
          {l.sign} {l.text}
        </div>
      ))}
    </pre>
  );
}

function ProposalCard({ p }: { p: Proposal }): React.JSX.Element {
  const [reason, setReason] = useState('');
  const [msg, setMsg] = useState<string | null>(null);
  const decide = (verb: 'accept' | 'reject'): void => {
    post(`/api/proposals/${enc(p.id)}/${verb}`, { reason }).then(
      () => setMsg(`${verb}ed`),
      (e: Error) => setMsg(e.message),
    );
  };
  return (
    <div className="card proposal" data-proposal={p.id}>
      <div className="hitl-head">
        <span className={`pill s-${p.status}`}>{p.status}</span>
        <b>{p.id}</b>
        <span className="hitl-title">{p.summary}</span>
        <span className="muted small">{ago(p.created_at)}</span>
      </div>
      <div className="muted small">
        {p.finding.kind} ({p.finding.severity}) in <a href={`#/run/${enc(p.run_id)}`}>{p.run_id}</a>:{' '}
        {p.finding.message}
      </div>
      <div className="small">
        changes <b>{p.target}</b> · expected: {p.expected_effect} · rollback: {p.rollback_rule}
        {p.gate && <span className="pill attention">{p.gate} approval</span>}
      </div>
      <PatchDiff patch={p.patch} />
      {p.finding.evidence.length > 0 && (
        <div className="evidence small muted">evidence: {p.finding.evidence.join(', ')}</div>
      )}
      {p.status === 'pending' ? (
        <div className="hitl-actions">
          <input
            aria-label={`reason for ${p.id}`}
            placeholder="Reason (for a rejection)"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
          <button className="approve" onClick={() => decide('accept')}>
            Accept
          </button>
          <button className="danger" onClick={() => decide('reject')}>
            Reject
          </button>
          {msg && <span className="muted small">{msg}</span>}
        </div>
      ) : (
        <div className="muted small">
          {p.status} by {p.decided_by ?? '–'}
          {p.reason ? `: ${p.reason}` : ''}
        </div>
      )}
    </div>
  );
}

export function Proposals(): React.JSX.Element {
  const { data, error } = useLiveData(() => get<{ proposals: Proposal[] }>('/api/proposals'), []);
  const list = [...(data?.proposals ?? [])].sort(
    (a, b) => (a.status === 'pending' ? -1 : 0) - (b.status === 'pending' ? -1 : 0),
  );
  return (
    <section className="page">
      <h1>Improvement proposals</h1>
      <p className="muted">
        Changes the observer proposes from repeated failures and costs, each backed by audit rows.
      </p>
      {error && <div className="error">{error}</div>}
      {data && list.length === 0 && <div className="empty card">No proposals yet.</div>}
      {list.map((p) => (
        <ProposalCard key={p.id} p={p} />
      ))}
    </section>
  );
}
