import { useState } from 'react';
import { enc, get, post } from './api.js';
import { ago } from './format.js';
import { lineDiff } from './line-diff.js';
import { useLiveData } from './live.js';
import type { ProposalPreview } from '../../src/contracts/dashboard.js';

interface Proposal {
  id: string;
  run_id: string;
  created_at: string;
  target: string;
  summary: string;
  expected_effect: string;
  rollback_rule: string;
  finding: { kind: string; severity: string; message: string; evidence: string[] };
  gate: string | null;
  status: 'pending' | 'accepted' | 'rejected';
  decided_by: string | null;
  reason: string | null;
}

/** The file the patch changes, before and after, as a line diff. */
function PatchDiff({ id }: { id: string }): React.JSX.Element {
  const { data, error } = useLiveData(() => get<{ preview: ProposalPreview }>(`/api/proposals/${enc(id)}`), [id]);
  if (error) return <div className="error">{error}</div>;
  if (!data) return <div className="muted small">loading the diff…</div>;
  const p = data.preview;
  if (p.after === null) return <div className="muted small">the patch no longer applies: {p.reason}</div>;
  const lines = lineDiff(p.before, p.after);
  return (
    <div className="patch">
      <div className="patch-file mono">{p.file}</div>
      <table>
        <tbody>
          {lines.map((l, i) =>
            l === null ? (
              <tr key={i} className="gap">
                <td colSpan={3}>⋯</td>
              </tr>
            ) : (
              <tr key={i} className={l.sign === '+' ? 'add' : l.sign === '-' ? 'del' : ''}>
                <td className="ln">{l.a ?? ''}</td>
                <td className="ln">{l.b ?? ''}</td>
                <td className="code">
                  {l.sign} {l.text}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
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
      <PatchDiff id={p.id} />
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
  const { data, error } = useLiveData(() => get<{ proposals: Proposal[] }>('/api/proposals'), [], undefined, 500);
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
