import { useEffect, useState } from 'react';
import { followEvents, get, getToken, setToken } from './api.js';
import { Inbox } from './Inbox.js';
import { LiveContext, useLiveData, withEvents, type LiveTick } from './live.js';
import { Proposals } from './Proposals.js';
import { RunsList } from './RunsList.js';
import { RunView } from './RunView.js';
import type { InboxItem } from '../../src/contracts/dashboard.js';

type Route =
  { page: 'runs' } | { page: 'run'; runId: string; node: string | null } | { page: 'inbox' } | { page: 'proposals' };

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'run' && parts[1]) return { page: 'run', runId: parts[1], node: parts[2] ?? null };
  if (parts[0] === 'inbox') return { page: 'inbox' };
  if (parts[0] === 'proposals') return { page: 'proposals' };
  return { page: 'runs' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function TokenForm(): React.JSX.Element {
  const [value, setValue] = useState('');
  return (
    <div className="token-form card">
      <h2>Access token</h2>
      <p>
        Open the link <code>mso ui</code> printed, or paste its token (the part after <code>#access=</code>).
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value);
          location.reload();
        }}
      >
        <input aria-label="token" value={value} onChange={(e) => setValue(e.target.value)} autoFocus />
        <button type="submit">Use token</button>
      </form>
    </div>
  );
}

function InboxBadge(): React.JSX.Element | null {
  const { data } = useLiveData(() => get<{ items: InboxItem[] }>('/api/inbox'), [], undefined, 500);
  const n = data?.items.length ?? 0;
  return n > 0 ? <span className="badge attention">{n}</span> : null;
}

export function App(): React.JSX.Element {
  const route = useRoute();
  const [tick, setTick] = useState<LiveTick>({ n: 0, opened: 0, events: [], connected: false });
  const [authError, setAuthError] = useState<string | null>(null);
  const token = getToken();
  useEffect(() => {
    if (!token) return;
    get('/api/session').catch((e: Error) => setAuthError(e.message));
    return followEvents({
      onOpen: () => setTick((t) => ({ ...t, n: t.n + 1, opened: t.opened + 1, connected: true })),
      onEvents: (events) => setTick((t) => withEvents(t, events)),
      onState: (connected) => setTick((t) => (t.connected === connected ? t : { ...t, connected })),
    });
  }, [token]);
  if (!token || authError) return <TokenForm />;
  const tab = (page: Route['page'], label: React.ReactNode): React.JSX.Element => (
    <a
      className={route.page === page || (page === 'runs' && route.page === 'run') ? 'active' : ''}
      href={`#/${page === 'runs' ? '' : page}`}
    >
      {label}
    </a>
  );
  return (
    <LiveContext.Provider value={tick}>
      <header className="topbar">
        <a className="brand" href="#/">
          <span className="logo">◆</span> mso
        </a>
        <nav>
          {tab('runs', 'Runs')}
          {tab(
            'inbox',
            <>
              Inbox <InboxBadge />
            </>,
          )}
          {tab('proposals', 'Proposals')}
        </nav>
        <span className={`live ${tick.connected ? 'on' : 'off'}`} title="live updates from the audit log">
          {tick.connected ? 'live' : 'reconnecting'}
        </span>
      </header>
      <main>
        {route.page === 'runs' && <RunsList />}
        {route.page === 'run' && <RunView runId={route.runId} node={route.node} />}
        {route.page === 'inbox' && <Inbox />}
        {route.page === 'proposals' && <Proposals />}
      </main>
    </LiveContext.Provider>
  );
}
