import { enc, get } from './api.js';
import { usd } from './format.js';
import { useLiveData } from './live.js';
import type { RunGraph } from '../../src/contracts/dashboard.js';

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

export function Timeline({ runId, onNode }: { runId: string; onNode(id: string): void }): React.JSX.Element {
  const { data, error } = useLiveData(
    () => get<{ entries: TimelineEntry[] }>(`/api/runs/${enc(runId)}/timeline`),
    [runId],
    runId,
    300,
  );
  return (
    <>
      {error && <div className="error">{error}</div>}
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
    </>
  );
}

const COLUMNS = ['todo', 'in_progress', 'blocked', 'done', 'cancelled'] as const;

export function Tickets({ runId, onNode }: { runId: string; onNode(id: string): void }): React.JSX.Element {
  const { data, error } = useLiveData(
    () => get<{ tickets: TicketRow[] }>(`/api/runs/${enc(runId)}/tickets`),
    [runId],
    runId,
    300,
  );
  const tickets = data?.tickets ?? [];
  return (
    <>
      {error && <div className="error">{error}</div>}
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
    </>
  );
}

export function Cost({ graph }: { graph: RunGraph }): React.JSX.Element {
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
