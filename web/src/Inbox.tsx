import { useState } from 'react';
import { enc, get, post } from './api.js';
import { ago } from './format.js';
import { useLiveData } from './live.js';
import type { InboxItem } from '../../src/contracts/dashboard.js';

/** A pending human item with approve / reject and a note: recorded as `mso approve|reject` records it. */
export function HitlCard({
  item,
  compact = false,
  onDecided,
}: {
  item: InboxItem;
  compact?: boolean;
  onDecided?: (text: string) => void;
}): React.JSX.Element {
  const [note, setNote] = useState('');
  const [msg, setMsg] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const decide = (verb: 'approve' | 'reject'): void => {
    setBusy(true);
    setMsg(null);
    post<{ resumed: boolean }>(`/api/runs/${enc(item.run_id)}/hitl/${enc(item.id)}/${verb}`, { note }).then(
      (r) => {
        const text = `${verb === 'approve' ? 'approved' : 'rejected'}${r.resumed ? ' · run resumed' : ''}`;
        setMsg(text);
        onDecided?.(text);
      },
      (e: Error) => {
        setMsg(e.message);
        setBusy(false);
      },
    );
  };
  const node = item.source.node_id;
  return (
    <div className={`hitl card urgency-${item.urgency}`} data-hitl={item.id}>
      <div className="hitl-head">
        <span className="pill attention">{item.kind.replace('_', ' ')}</span>
        <b>{item.id}</b>
        <span className="hitl-title">{item.title}</span>
        <span className="muted small">{ago(item.created_at)}</span>
      </div>
      {!compact && (
        <div className="muted small">
          run{' '}
          <a href={`#/run/${enc(item.run_id)}${node ? `/${enc(node)}` : ''}`}>
            {item.run_id}
            {node ? ` · ${node}` : ''}
          </a>
        </div>
      )}
      {!compact && item.brief && <pre className="brief">{item.brief}</pre>}
      <div className="hitl-actions">
        <input
          aria-label={`note for ${item.id}`}
          placeholder="Note (recorded with the decision)"
          value={note}
          onChange={(e) => setNote(e.target.value)}
        />
        <button className="approve" disabled={busy} onClick={() => decide('approve')}>
          Approve
        </button>
        <button className="danger" disabled={busy} onClick={() => decide('reject')}>
          Reject
        </button>
        {msg && <span className="muted small">{msg}</span>}
      </div>
    </div>
  );
}

export function Inbox(): React.JSX.Element {
  const { data, error } = useLiveData(() => get<{ items: InboxItem[] }>('/api/inbox'), [], undefined, 250);
  // Items decided on this page stay in view with their outcome after they leave the pending list.
  const [decided, setDecided] = useState<ReadonlyArray<{ item: InboxItem; text: string }>>([]);
  const key = (h: InboxItem): string => `${h.run_id}/${h.id}`;
  const done = new Set(decided.map((d) => key(d.item)));
  const pending = (data?.items ?? []).filter((h) => !done.has(key(h)));
  return (
    <section className="page">
      <h1>Human inbox</h1>
      <p className="muted">
        Every decision a run is waiting for, across runs. Approving resumes the run here, as <code>mso resume</code>{' '}
        would.
      </p>
      {error && <div className="error">{error}</div>}
      {data && pending.length === 0 && <div className="empty card">Nothing is waiting for you.</div>}
      {pending.map((h) => (
        <HitlCard key={key(h)} item={h} onDecided={(text) => setDecided((d) => [{ item: h, text }, ...d])} />
      ))}
      {decided.map(({ item, text }) => (
        <div key={key(item)} className="card decided" data-hitl={item.id}>
          <b>{item.id}</b> {item.title} <span className="muted">·</span> <span className="decided-text">{text}</span> ·{' '}
          <a href={`#/run/${enc(item.run_id)}`}>open run</a>
        </div>
      ))}
    </section>
  );
}
