import { lazy, Suspense, useEffect, useState } from 'react';
import { enc, post } from './api.js';
import { DagView } from './DagView.js';
import { duration, usd } from './format.js';
import { HitlCard } from './Inbox.js';
import { isDesigned, Progress, StatusPill } from './RunsList.js';
import { Cost, Tickets, Timeline } from './RunTabs.js';
import { useRunGraph } from './run-graph.js';
import type { RunGraph } from '../../src/contracts/dashboard.js';

// The node panel (and the diff renderer it brings) loads on the first click on a node, not with the page.
const NodePanel = lazy(() => import('./NodePanel.js').then((m) => ({ default: m.NodePanel })));

type Tab = 'graph' | 'timeline' | 'tickets' | 'cost';

const DONE = { cancel: 'cancel requested', resume: 'resuming', start: 'started', rerun: 're-running' } as const;

/** A designed run that has not started: what it will do, for a person to review before Start. */
function Review({ graph }: { graph: RunGraph }): React.JSX.Element {
  const agents = new Map<string, number>();
  for (const n of graph.nodes)
    agents.set(n.agent ?? 'default chain', (agents.get(n.agent ?? 'default chain') ?? 0) + 1);
  const gates = graph.nodes.reduce((s, n) => s + n.gates, 0);
  const merges = graph.nodes.filter((n) => n.type === 'merge').length;
  return (
    <div className="review card" data-review>
      <b>Designed, not started.</b> Review the DAG below, then Start (as <code>mso resume</code> does: the governance
      gate, then the nodes). {graph.nodes.length} nodes, {graph.edges.length} edges, {merges} merges, {gates} gates;
      agents: {[...agents].map(([a, n]) => `${a} ×${n}`).join(', ')}
      {graph.budget_usd !== null && <>; budget {usd(graph.budget_usd)}</>}
      {graph.estimate && (
        <span data-estimate>
          ; estimated cost {usd(graph.estimate.usd)}
          {graph.estimate.nodes_without_history > 0 &&
            ` (+ ${graph.estimate.nodes_without_history} nodes whose agent has no history here)`}
        </span>
      )}
      .
    </div>
  );
}

export function RunView({ runId, node }: { runId: string; node: string | null }): React.JSX.Element {
  const [tab, setTab] = useState<Tab>('graph');
  // What the last action said: a refusal stays until the next action; any other word only while the run's status is
  // still the one it was clicked in (then the status says the rest), and for 15 s at most (a resume refused in the
  // background moves nothing).
  const [msg, setMsg] = useState<{ text: string; status?: string | undefined; error?: true } | null>(null);
  // A designed run branches from the repository around the server; without one, Start needs a new, empty one.
  const [init, setInit] = useState(false);
  // As mso resume --allow-manual: nodes no agent can do go to a person (by default such a run is refused).
  const [allowManual, setAllowManual] = useState(false);
  const { graph: g, layout, error } = useRunGraph(runId);
  const status = g?.run.status;
  useEffect(() => {
    if (!msg || msg.error) return;
    const t = setTimeout(() => setMsg(null), 15_000);
    return () => clearTimeout(t);
  }, [msg]);
  const shown = msg && (msg.error || msg.status === status) ? msg.text : null;
  const select = (id: string | null): void => {
    location.hash = `#/run/${enc(runId)}${id ? `/${enc(id)}` : ''}`;
    if (id) setTab('graph');
  };
  const act = (what: 'cancel' | 'resume' | 'start' | 'rerun'): void => {
    const clickedIn = status;
    setMsg({ text: `${what}…`, status: clickedIn });
    post<{ run_id: string }>(
      `/api/runs/${enc(runId)}/${what}`,
      what === 'start' ? { init, allow_manual: allowManual } : {},
    ).then(
      (res) => {
        setMsg({ text: DONE[what], status: clickedIn });
        // A re-run is a new run: follow it there.
        if (what === 'rerun') location.hash = `#/run/${enc(res.run_id)}`;
      },
      (e: Error) => setMsg({ text: e.message, error: true }),
    );
  };
  if (error && !g) return <div className="page error">{error}</div>;
  if (!g) return <div className="page muted">loading…</div>;
  const r = g.run;
  const designed = isDesigned(r) && !g.coordinator_alive;
  const live = !designed && ['active', 'created'].includes(r.status);
  return (
    <section className="run-view">
      <div className="run-head">
        <div className="run-title">
          <a href="#/" className="muted small">
            ← Runs
          </a>
          <h1>
            <StatusPill status={designed ? 'designed' : r.status} /> <span className="mono">{r.run_id}</span>
          </h1>
          {r.goal && <div className="goal">{r.goal}</div>}
          {g.reason && <div className={r.status === 'completed' ? 'reason note' : 'reason'}>{g.reason}</div>}
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
            {designed && (
              <>
                <label className="small" title="as mso resume --init: for a server started outside a git repository">
                  <input type="checkbox" checked={init} onChange={(e) => setInit(e.target.checked)} /> new empty
                  repository
                </label>
                <label className="small" title="as mso resume --allow-manual: nodes no agent can do go to a person">
                  <input type="checkbox" checked={allowManual} onChange={(e) => setAllowManual(e.target.checked)} /> a
                  person does what no agent can
                </label>
                <button className="primary" onClick={() => act('start')}>
                  Start
                </button>
              </>
            )}
            {!designed && ['failed', 'cancelled', 'interrupted'].includes(r.status) && !g.coordinator_alive && (
              <button onClick={() => act('resume')}>Resume</button>
            )}
            {r.nodes_failed > 0 && !live && (
              <button
                onClick={() => act('rerun')}
                title="run the failed nodes and what depends on them again, as a new run"
              >
                Re-run failed
              </button>
            )}
            {shown && <span className="muted small">{shown}</span>}
          </div>
        </div>
      </div>
      {designed && <Review graph={g} />}
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
        {tab === 'graph' && layout && <DagView graph={g} layout={layout} selected={node} onSelect={select} />}
        {tab === 'timeline' && <Timeline runId={runId} onNode={select} />}
        {tab === 'tickets' && <Tickets runId={runId} onNode={select} />}
        {tab === 'cost' && <Cost graph={g} />}
        {tab === 'graph' && node && (
          <Suspense fallback={<aside className="panel muted">loading…</aside>}>
            <NodePanel runId={runId} nodeId={node} size={g.nodes.length} onClose={() => select(null)} />
          </Suspense>
        )}
      </div>
    </section>
  );
}
