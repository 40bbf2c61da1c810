import { createRequire } from 'node:module';
import { redactUrl } from '../../contracts/index.js';

/** The little of `pg`'s Client a listener uses (the package ships no types). */
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', fn: (m: { channel: string; payload?: string }) => void): void;
  on(event: 'error' | 'end', fn: (e?: Error) => void): void;
}

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * LISTEN on a PostgreSQL channel with an async `pg` client in this process's event loop (the audit store's own
 * connection is synchronous, in a worker thread, and cannot wait for notifications). The store's `?schema=` and
 * `?synchronous_commit=` are mso's parameters, not the driver's: they are dropped from the URL.
 */
export async function listenPostgres(
  raw: string,
  channel: string,
  onNotify: (payload: string) => void,
  lost?: (why: string) => void,
): Promise<{ close(): Promise<void> }> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  const u = new URL(raw);
  u.searchParams.delete('schema');
  u.searchParams.delete('synchronous_commit');
  const pg = createRequire(import.meta.url)('pg') as {
    Client: new (o: Record<string, unknown>) => PgClient;
  };
  const client = new pg.Client({
    connectionString: u.toString(),
    application_name: 'mso-listen',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  let closing = false;
  let told = false;
  const gone = (e?: Error): void => {
    if (closing || told) return;
    told = true;
    lost?.(e?.message ?? 'the connection ended');
  };
  client.on('error', gone);
  client.on('end', gone);
  client.on('notification', (m) => {
    if (m.channel === channel) onNotify(m.payload ?? '');
  });
  try {
    await client.connect();
    await client.query(`LISTEN ${channel}`);
  } catch (e) {
    closing = true;
    await client.end().catch(() => undefined);
    throw new Error(`cannot LISTEN at ${redactUrl(raw)}: ${(e as Error).message}`, { cause: e });
  }
  return {
    async close() {
      closing = true;
      await client.end().catch(() => undefined);
    },
  };
}
