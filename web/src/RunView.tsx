import { useState } from 'react';
import { enc, get, post } from './api.js';
import { DagView } from './DagView.js';
import { duration, usd } from './format.js';
import { HitlCard } from './Inbox.js';
import { useLiveData } from './live.js';
import { NodePanel } from './NodePanel.js';
import { Progress, StatusPill } from './RunsList.js';
import type { RunGraph } from '../../src/contracts/dashboard.js';

type Tab = 'graph' | 'timeline' | 'tickets' | 'cost';

interface TimelineEntry {
  at: string;
  node: string | null;
  kind: string;
  text: string;
  refs: string[];
}
interface TicketRow {
  id: string;
  title: string;
  status: string;
  node_id: string | null;
  owner: string | null;
}

function Timeline({ runId, onNode }: { runId: string; onNode(id: string): void }): React.JSX.Element {
  const { data } = useLiveData(
    () => get<{ entries: TimelineEntry[] }>(`/api/runs/${enc(runId)}/timeline`),
    [runId],
    runId,
  );
  return (
    <ol className="timeline">
      {(data?.entries ?? []).map((e, i) => (
        <li key={i} className={`tl-${e.kind}`}>
          <time>{new Date(e.at).toLocaleTimeString()}</time>
          <span className="tl-kind">{e.kind}</span>
          {e.node ? (
            <button className="link" onClick={() => onNode(e.node as string)}>
              {e.node}
            </button>
          ) : (
            <span className="muted">run</span>
          )}
          <span className="tl-text">{e.text}</span>
        </li>
      ))}
      {data && data.entries.length === 0 && <li className="muted">nothing recorded yet</li>}
    </ol>
  );
}

const COLUMNS = ['todo', 'in_progress', 'blocked', 'done', 'cancelled'] as const;

function Tickets({ runId, onNode }: { runId: string; onNode(id: string): void }): React.JSX.Element {
  const { data } = useLiveData(() => get<{ tickets: TicketRow[] }>(`/api/runs/${enc(runId)}/tickets`), [runId], runId);
  const tickets = data?.tickets ?? [];
  return (
    <div className="board">
      {COLUMNS.map((c) => (
        <div key={c} className={`column col-${c}`} data-column={c}>
          <h3>
            {c.replace('_', ' ')} <span className="n">{tickets.filter((t) => t.status === c).length}</span>
          </h3>
          {tickets
            .filter((t) => t.status === c)
            .map((t) => (
              <div key={t.id} className="ticket" onClick={() => t.node_id && onNode(t.node_id)}>
                <div className="muted small">{t.id}</div>
                <div>{t.title}</div>
                {t.owner && <div className="muted small">{t.owner}</div>}
              </div>
            ))}
        </div>
      ))}
    </div>
  );
}

function Cost({ graph }: { graph: RunGraph }): React.JSX.Element {
  const rows = [...graph.nodes].sort((a, b) => b.cost_usd - a.cost_usd);
  const max = Math.max(graph.budget_usd ?? 0, graph.run.cost_usd, ...rows.map((r) => r.cost_usd), 1e-9);
  return (
    <div className="cost">
      <div className="cost-total">
        <b>{usd(graph.run.cost_usd)}</b> spent
        {graph.budget_usd !== null ? (
          <>
            {' '}
            of a {usd(graph.budget_usd)} budget
            <div className="bar budget">
              <span style={{ width: `${Math.min(100, (100 * graph.run.cost_usd) / graph.budget_usd)}%` }} />
            </div>
          </>
        ) : (
          <span className="muted"> (no budget set)</span>
        )}
      </div>
      <table>
        <thead>
          <tr>
            <th>Node</th>
            <th>Agent</th>
            <th className="num">Attempts</th>
            <th className="num">Cost</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((n) => (
            <tr key={n.id}>
              <td>{n.label}</td>
              <td className="muted">{n.agent ?? '–'}</td>
              <td className="num">{n.attempts}</td>
              <td className="num">{usd(n.cost_usd)}</td>
              <td className="bar-cell">
                <div className="bar">
                  <span style={{ width: `${(100 * n.cost_usd) / max}%` }} />
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RunView({ runId, node }: { runId: string; node: string | null }): React.JSX.Element {
  const [tab, setTab] = useState<Tab>('graph');
  const [msg, setMsg] = useState<string | null>(null);
  const { data: g, error } = useLiveData(() => get<RunGraph>(`/api/runs/${enc(runId)}`), [runId], runId);
  const select = (id: string | null): void => {
    location.hash = `#/run/${enc(runId)}${id ? `/${enc(id)}` : ''}`;
    if (id) setTab('graph');
  };
  const act = (what: 'cancel' | 'resume'): void => {
    setMsg(`${what}…`);
    post(`/api/runs/${enc(runId)}/${what}`).then(
      () => setMsg(what === 'cancel' ? 'cancel requested' : 'resuming'),
      (e: Error) => setMsg(e.message),
    );
  };
  if (error && !g) return <div className="page error">{error}</div>;
  if (!g) return <div className="page muted">loading…</div>;
  const r = g.run;
  const live = ['active', 'created'].includes(r.status);
  return (
    <section className="run-view">
      <div className="run-head">
        <div className="run-title">
          <a href="#/" className="muted small">
            ← Runs
          </a>
          <h1>
            <StatusPill status={r.status} /> <span className="mono">{r.run_id}</span>
          </h1>
          {r.goal && <div className="goal">{r.goal}</div>}
          {g.reason && <div className="reason">{g.reason}</div>}
        </div>
        <div className="run-stats">
          <div>
            <span className="label">Nodes</span>
            <Progress done={r.nodes_done} failed={r.nodes_failed} total={r.nodes_total} />
          </div>
          <div>
            <span className="label">Cost</span>
            <b>{usd(r.cost_usd)}</b>
            {g.budget_usd !== null && <span className="muted"> / {usd(g.budget_usd)}</span>}
          </div>
          <div>
            <span className="label">Duration</span>
            <b>{duration(r.duration_ms)}</b>
          </div>
          <div className="actions">
            {live && (
              <button className="danger" onClick={() => act('cancel')}>
                Cancel
              </button>
            )}
            {['failed', 'cancelled', 'created', 'interrupted'].includes(r.status) && !g.coordinator_alive && (
              <button onClick={() => act('resume')}>Resume</button>
            )}
            {msg && <span className="muted small">{msg}</span>}
          </div>
        </div>
      </div>
      {g.pending.length > 0 && (
        <div className="pending">
          {g.pending.map((h) => (
            <HitlCard key={h.id} item={{ ...h, run_status: r.status }} compact />
          ))}
        </div>
      )}
      <div className="tabs">
        {(['graph', 'timeline', 'tickets', 'cost'] as const).map((t) => (
          <button key={t} className={tab === t ? 'active' : ''} onClick={() => setTab(t)}>
            {t[0]?.toUpperCase()}
            {t.slice(1)}
          </button>
        ))}
      </div>
      <div className={`run-body ${tab === 'graph' && node ? 'with-panel' : ''}`}>
        {tab === 'graph' && <DagView graph={g} selected={node} onSelect={select} />}
        {tab === 'timeline' && <Timeline runId={runId} onNode={select} />}
        {tab === 'tickets' && <Tickets runId={runId} onNode={select} />}
        {tab === 'cost' && <Cost graph={g} />}
        {tab === 'graph' && node && <NodePanel runId={runId} nodeId={node} onClose={() => select(null)} />}
      </div>
    </section>
  );
}
