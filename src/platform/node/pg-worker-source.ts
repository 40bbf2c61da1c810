/**
 * The worker thread that owns one PostgreSQL connection (CommonJS text run with `eval: true`, so it needs no file
 * next to the compiled output and loads `pg` from the path the caller resolved). Each request arrives on a
 * MessagePort; the answer is posted back on it and then the shared flag is raised, which wakes the caller blocked
 * in `Atomics.wait` (the technique of synckit). The connection is opened on the first request, and opened again
 * after it was lost, unless it was lost inside a transaction (then that transaction's statements fail, as they must).
 */
export const PG_WORKER_SOURCE = String.raw`
const { workerData } = require('node:worker_threads');
const pg = require(workerData.pgPath);
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
// int8 (count, sum of integers, bigserial) and numeric (sum, avg) arrive as strings: every value mso stores fits a double.
const types = {
  getTypeParser(oid, format) {
    if (oid === 20) return (v) => Number(v);
    if (oid === 1700) return (v) => parseFloat(v);
    return pg.types.getTypeParser(oid, format);
  },
};
let client = null;
let broken = false;
async function connect() {
  if (client && !broken) return client;
  if (client) client.end().catch(() => {});
  const c = new pg.Client({ connectionString: workerData.url, types, application_name: 'mso' });
  c.on('error', () => { broken = true; });
  broken = false;
  await c.connect();
  for (const s of workerData.setup) await c.query(s);
  client = c;
  return c;
}
function errorOf(e) {
  return { message: String((e && e.message) || e), code: e && e.code, detail: e && e.detail, severity: e && e.severity };
}
function answer(msg) {
  port.postMessage(msg);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
port.on('message', async (req) => {
  // Every answer names the request it answers (the caller drops any other).
  const reply = (msg) => answer({ ...msg, id: req.id });
  try {
    if (req.op === 'close') {
      if (client) await client.end().catch(() => {});
      client = null;
      reply({ ok: true });
      return;
    }
    if (client && broken && req.inTx) throw new Error('the connection to PostgreSQL was lost inside a transaction');
    const c = await connect();
    if (req.op === 'exec') {
      await c.query(req.sql);
      reply({ ok: true });
      return;
    }
    const r = await c.query({ text: req.sql, values: req.params });
    reply({ ok: true, rows: r.rows, rowCount: r.rowCount == null ? 0 : r.rowCount, fields: (r.fields || []).map((f) => f.name) });
  } catch (e) {
    reply({ ok: false, error: errorOf(e) });
  }
});
`;
