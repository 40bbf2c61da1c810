import { html as diffHtml } from 'diff2html';
import { useEffect, useMemo, useRef } from 'react';
import { enc, get } from './api.js';
import { duration, STATE_LABEL, usd } from './format.js';
import { useLiveData } from './live.js';
import type { NodeDetail } from '../../src/contracts/dashboard.js';

const DIFF_OPTIONS = { drawFileList: true, matching: 'lines', outputFormat: 'line-by-line' } as const;

function Diff({ diff, truncated }: { diff: string; truncated: boolean }): React.JSX.Element {
  // diff2html escapes file names and lines itself; its output is the only HTML we inject.
  const markup = useMemo(() => diffHtml(diff, DIFF_OPTIONS), [diff]);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // The highlighter (highlight.js) loads on the first diff shown, then colours each file by its language.
    let live = true;
    void import('./highlight.js').then(({ highlightDiff }) => {
      if (live && ref.current) highlightDiff(ref.current, DIFF_OPTIONS);
    });
    return () => {
      live = false;
    };
  }, [markup]);
  return (
    <div className="diff">
      {truncated && <div className="muted">(diff cut at 512 KB)</div>}
      <div ref={ref} dangerouslySetInnerHTML={{ __html: markup }} />
    </div>
  );
}

interface LogEntry {
  attempt: number;
  kind: string;
  text: string;
  live: boolean;
}

/** What the node's agent says and does: live while it runs (as `mso logs --follow` shows it), stored after. */
function Transcript(props: { runId: string; nodeId: string; running: boolean }): React.JSX.Element {
  const { runId, nodeId, running } = props;
  const { data, reload } = useLiveData(
    () => get<{ entries: LogEntry[] }>(`/api/runs/${enc(runId)}/nodes/${enc(nodeId)}/logs`),
    [runId, nodeId],
    runId,
    300,
  );
  // Lines of a running agent are not audit events: read them again every second while it runs.
  useEffect(() => {
    if (!running) return;
    const t = setInterval(reload, 1000);
    return () => clearInterval(t);
  }, [running, reload]);
  const entries = (data?.entries ?? []).filter((e) => e.kind !== 'start' && e.kind !== 'end');
  const end = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Braces: in current Chromium scrollIntoView returns a promise, which an effect must not return.
    void end.current?.scrollIntoView({ block: 'nearest' });
  }, [entries.length]);
  return (
    <div className="transcript" data-transcript={running ? 'live' : 'stored'}>
      {entries.length === 0 && <div className="muted">{running ? 'waiting for output…' : 'nothing recorded'}</div>}
      {entries.map((e, i) => (
        <div key={i} className={`tr-line tr-${e.kind}${e.live ? ' tr-live' : ''}`}>
          <span className="tr-kind">{e.kind}</span> <span className="tr-text">{e.text}</span>
        </div>
      ))}
      <div ref={end} />
    </div>
  );
}

const short = (s: string | null, n = 12): string => (s ? s.slice(0, n) : '–');

export function NodePanel(props: {
  runId: string;
  nodeId: string;
  /** Nodes in the run: a node's details are read with its whole run, so a big run's panel re-reads less often. */
  size: number;
  onClose(): void;
}): React.JSX.Element {
  const { runId, nodeId } = props;
  const { data: d, error } = useLiveData(
    () => get<NodeDetail>(`/api/runs/${enc(runId)}/nodes/${enc(nodeId)}`),
    [runId, nodeId],
    runId,
    props.size > 300 ? 1000 : 150,
  );
  return (
    <aside className="panel" data-panel={nodeId}>
      <div className="panel-head">
        <div>
          <div className="muted small">{d?.node.type ?? 'node'}</div>
          <h2>{d?.node.label ?? nodeId}</h2>
        </div>
        <button className="ghost" aria-label="close" onClick={props.onClose}>
          ✕
        </button>
      </div>
      {error && <div className="error">{error}</div>}
      {d && (
        <div className="panel-body">
          <div className={`state-line st-${d.node.state}`}>
            <span className="dot" /> {STATE_LABEL[d.node.state] ?? d.node.state}
            {d.node.detail && <span className="muted"> · {d.node.detail}</span>}
          </div>
          <dl className="facts">
            <dt>Agent</dt>
            <dd>{d.node.agent ?? '–'}</dd>
            {d.node.merge && (
              <>
                <dt>Merge</dt>
                <dd>
                  {d.node.merge.strategy}, quorum {d.node.merge.quorum ?? '–'}
                </dd>
              </>
            )}
            <dt>Cost</dt>
            <dd>
              {usd(d.node.cost_usd)}
              {d.attempts.some((a) => a.cost_source && a.cost_source !== 'none') && (
                <span className="muted">
                  {' '}
                  ({[...new Set(d.attempts.map((a) => a.cost_source).filter((c) => c && c !== 'none'))].join(', ')})
                </span>
              )}
            </dd>
            <dt>Ticket</dt>
            <dd>{d.node.ticket ? `${d.node.ticket.id} · ${d.node.ticket.status}` : '–'}</dd>
            <dt>Commit</dt>
            <dd className="mono" title={d.commit ?? ''}>
              {short(d.commit)}
            </dd>
            <dt>Tree hash</dt>
            <dd className="mono" title={d.tree_hash ?? ''} data-tree-hash={d.tree_hash ?? ''}>
              {short(d.tree_hash, 16)}
            </dd>
          </dl>
          {d.hitl.length > 0 && (
            <section>
              <h3>Human items</h3>
              {d.hitl.map((h) => (
                <div key={h.id} className={`hitl-mini ${h.status}`}>
                  <b>{h.id}</b> {h.title} <span className="pill">{h.status}</span>
                  {h.note && <div className="muted">“{h.note}”</div>}
                </div>
              ))}
            </section>
          )}
          {d.failures.length > 0 && (
            <section>
              <h3>Errors</h3>
              {d.failures.map((f, i) => (
                <div key={i} className="failure">
                  <div>
                    <b>{f.error_class}</b>
                    {f.rule && (
                      <span className="muted">
                        {' '}
                        · rule {f.rule}, {f.action}
                      </span>
                    )}
                  </div>
                  <pre>{f.message}</pre>
                </div>
              ))}
            </section>
          )}
          {d.gates.length > 0 && (
            <section>
              <h3>Gates</h3>
              {d.gates.map((g, i) => (
                <div key={i} className={`gate ${g.status === 'success' ? 'ok' : 'bad'}`}>
                  <div>
                    <span className="mark">{g.status === 'success' ? '✓' : '✗'}</span> <code>{g.command}</code>
                    {g.exit_code !== null && <span className="muted"> exit {g.exit_code}</span>}
                  </div>
                  {g.message && <pre>{g.message}</pre>}
                </div>
              ))}
            </section>
          )}
          <section>
            <h3>Attempts</h3>
            {d.attempts.length === 0 && <div className="muted">none yet</div>}
            {d.attempts.map((a) => (
              <div key={a.attempt_id} className="attempt">
                <span className={`pill a-${a.status}`}>{a.status}</span> #{a.attempt_no} {a.agent ?? ''}
                {a.model && <span className="muted"> {a.model}</span>}
                <span className="muted">
                  {' '}
                  · {a.duration_ms !== null ? duration(a.duration_ms) : '…'} · {usd(a.cost_usd ?? 0)}
                </span>
                {a.error_message && <pre>{a.error_message}</pre>}
              </div>
            ))}
            {d.agent_trail.some((t) => t.steps.length > 1) && (
              <div className="trail">
                {d.agent_trail.map((t, i) => (
                  <div key={i}>{t.steps.map((s) => `${s.agent} (${s.outcome})`).join(' → ')}</div>
                ))}
              </div>
            )}
          </section>
          <section>
            <h3>Transcript {d.node.state === 'running' && <span className="pill a-running">live</span>}</h3>
            <Transcript runId={runId} nodeId={nodeId} running={d.node.state === 'running'} />
          </section>
          {d.summary && (
            <section>
              <h3>Summary</h3>
              <p className="summary">{d.summary}</p>
            </section>
          )}
          <section>
            <h3>Diff {d.files.length > 0 && <span className="muted">({d.files.length} files)</span>}</h3>
            {d.diff ? <Diff diff={d.diff} truncated={d.diff_truncated} /> : <div className="muted">no commit yet</div>}
          </section>
        </div>
      )}
    </aside>
  );
}
