import { useState } from 'react';
import { get, post } from './api.js';
import { ago, duration, usd } from './format.js';
import { useLiveData } from './live.js';
import type { RunCard } from '../../src/contracts/dashboard.js';

const FILTERS = ['all', 'active', 'awaiting_human', 'interrupted', 'failed', 'completed', 'cancelled'] as const;

/** A run designed and not started yet (no coordinator ever took it): it waits for a person to review and start it. */
export const isDesigned = (r: RunCard): boolean =>
  !r.started && (r.status === 'created' || r.status === 'active' || r.status === 'interrupted');

export function StatusPill({ status }: { status: string }): React.JSX.Element {
  return <span className={`pill s-${status}`}>{status.replace('_', ' ')}</span>;
}

export function Progress({ done, failed, total }: { done: number; failed: number; total: number }): React.JSX.Element {
  const pct = (n: number): string => `${total ? (100 * n) / total : 0}%`;
  return (
    <div className="progress" title={`${done} of ${total} nodes done${failed ? `, ${failed} failed` : ''}`}>
      <div className="bar">
        <span className="done" style={{ width: pct(done) }} />
        <span className="failed" style={{ width: pct(failed) }} />
      </div>
      <span className="count">
        {done}/{total}
      </span>
    </div>
  );
}

function NewRun(): React.JSX.Element {
  const [kind, setKind] = useState<'goal' | 'workflow'>('goal');
  const [text, setText] = useState('');
  const [msg, setMsg] = useState<string | null>(null);
  return (
    <form
      className="new-run"
      onSubmit={(e) => {
        e.preventDefault();
        setMsg('designing…');
        // Designed first, not started: the run opens with its DAG for review and a Start button.
        post<{ run_id: string }>('/api/designs', { [kind]: text }).then(
          (r) => {
            setText('');
            location.hash = `#/run/${encodeURIComponent(r.run_id)}`;
          },
          (err: Error) => setMsg(err.message),
        );
      }}
    >
      <select aria-label="source" value={kind} onChange={(e) => setKind(e.target.value as 'goal' | 'workflow')}>
        <option value="goal">Goal</option>
        <option value="workflow">Workflow file</option>
      </select>
      <input
        aria-label="new run"
        placeholder={
          kind === 'goal' ? 'What should the swarm do?' : 'path/to/workflow.yaml (inside the server directory)'
        }
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit" disabled={!text.trim()}>
        Design run
      </button>
      {msg && <span className="muted">{msg}</span>}
    </form>
  );
}

export function RunsList(): React.JSX.Element {
  const [filter, setFilter] = useState<(typeof FILTERS)[number]>('all');
  const [q, setQ] = useState('');
  const { data, error } = useLiveData(() => get<{ runs: RunCard[] }>('/api/runs'), [], undefined, 300);
  const runs = (data?.runs ?? []).filter(
    (r) =>
      (filter === 'all' || r.status === filter) &&
      (q === '' || `${r.run_id} ${r.goal ?? ''}`.toLowerCase().includes(q.toLowerCase())),
  );
  const count = (f: string): number => (data?.runs ?? []).filter((r) => f === 'all' || r.status === f).length;
  return (
    <section className="page">
      <div className="page-head">
        <h1>Runs</h1>
        <NewRun />
      </div>
      <div className="filters">
        {FILTERS.map((f) => (
          <button key={f} className={`chip ${filter === f ? 'active' : ''}`} onClick={() => setFilter(f)}>
            {f.replace('_', ' ')} <span className="n">{count(f)}</span>
          </button>
        ))}
        <input
          className="search"
          aria-label="filter runs"
          placeholder="Filter by id or goal"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
      </div>
      {error && <div className="error">{error}</div>}
      <table className="runs">
        <thead>
          <tr>
            <th>Status</th>
            <th>Run</th>
            <th>Nodes</th>
            <th className="num">Cost</th>
            <th className="num">Duration</th>
            <th>Human</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr
              key={r.run_id}
              data-run={r.run_id}
              onClick={() => (location.hash = `#/run/${encodeURIComponent(r.run_id)}`)}
            >
              <td>
                <StatusPill status={isDesigned(r) ? 'designed' : r.status} />
              </td>
              <td>
                <a className="run-id" href={`#/run/${encodeURIComponent(r.run_id)}`}>
                  {r.run_id}
                </a>
                <div className="goal">{r.goal}</div>
              </td>
              <td>
                <Progress done={r.nodes_done} failed={r.nodes_failed} total={r.nodes_total} />
              </td>
              <td className="num">{usd(r.cost_usd)}</td>
              <td className="num">{duration(r.duration_ms)}</td>
              <td>
                {r.pending_human > 0 ? (
                  <span className="badge attention">{r.pending_human} waiting</span>
                ) : (
                  <span className="muted">–</span>
                )}
              </td>
              <td className="muted">{ago(r.created_at)}</td>
            </tr>
          ))}
          {data && runs.length === 0 && (
            <tr>
              <td colSpan={7} className="empty">
                No runs{filter !== 'all' ? ` with status ${filter.replace('_', ' ')}` : ''}. Start one above or with{' '}
                <code>mso run</code>.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
