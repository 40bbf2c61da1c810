import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { MsoApp } from '../app/index.js';
import { InvalidArgumentError } from '../contracts/index.js';
import { Loose, guard } from './tool-result.js';

/**
 * The MCP tools that design, read and check rather than drive a run: design, tickets, run_explain, run_replay,
 * audit_query, observe. `untilStop` gives a request's signal that also aborts when the server stops.
 */
export function registerWorkTools(
  server: McpServer,
  app: MsoApp,
  untilStop: (signal: AbortSignal) => AbortSignal,
): void {
  server.registerTool(
    'design',
    {
      title: 'Design a workflow',
      description:
        'Design a goal (or import a workflow file) into topology, mental models and plan, without executing it; returns the graph as Mermaid and the artifact paths.',
      inputSchema: z.object({
        goal: z.string().min(1).optional(),
        workflow: z.string().min(1).optional(),
        planner: z.enum(['heuristic', 'llm', 'auto']).optional(),
        pattern: z.enum(['parallel', 'hierarchical']).optional(),
        risk: z.enum(['low', 'medium', 'high']).optional(),
      }),
      outputSchema: Loose,
    },
    async (args) =>
      guard(async () => {
        const d = await app.design.all({
          goal: args.goal,
          workflow: args.workflow,
          planner: args.planner,
          pattern: args.pattern,
          risk: args.risk,
        });
        const mermaid = await app.design.show(d.run_id, 'mermaid');
        return {
          run_id: d.run_id,
          topology_type: d.topology.topology_type,
          mermaid: mermaid.content,
          paths: { topology: d.topology.path, bundle: d.bundle, plan: d.plan },
        };
      }),
  );

  server.registerTool(
    'tickets',
    {
      title: 'Tickets of a run',
      description: 'List, create or move tickets of a run (move follows the strict state machine).',
      inputSchema: z.object({
        run_id: z.string().min(1),
        action: z.enum(['list', 'create', 'move']),
        title: z.string().min(1).optional(),
        ticket: z.string().optional(),
        status: z.enum(['todo', 'in_progress', 'blocked', 'done', 'cancelled']).optional(),
        reason: z.string().optional(),
        priority: z.enum(['low', 'medium', 'high', 'critical']).optional(),
        tags: z.array(z.string()).optional(),
        deps: z.array(z.string()).optional(),
      }),
      outputSchema: Loose,
    },
    async (args) =>
      guard(async () => {
        const ctx = { runId: args.run_id };
        if (args.action === 'list') {
          const list = await app.tickets.list(ctx, args.status);
          return { tickets: list.map((t) => ({ ...t.ticket, path: t.path })) };
        }
        if (args.action === 'create') {
          if (!args.title) throw new InvalidArgumentError('title', 'create needs a title');
          const t = await app.tickets.create(ctx, {
            title: args.title,
            priority: args.priority,
            tags: args.tags,
            deps: args.deps,
          });
          return { ticket: t.ticket, path: t.path };
        }
        if (!args.ticket || !args.status) throw new InvalidArgumentError('ticket', 'move needs ticket and status');
        return { ...(await app.tickets.move(ctx, args.ticket, args.status, args.reason)) };
      }),
  );

  server.registerTool(
    'run_explain',
    {
      title: 'Explain a run',
      description:
        'What a run needs to be reproduced (provenance: input hashes, versions, agents, base commit) and its timeline (execution order with the why of each step, each entry citing events#seq or hitl:ID); with compare_to, also the differences from another run (plan, per-node outcome, environment, proposals).',
      inputSchema: z.object({ run_id: z.string().min(1), compare_to: z.string().min(1).optional() }),
      outputSchema: Loose,
      annotations: { readOnlyHint: true },
    },
    async (args) => guard(async () => ({ ...(await app.explain.explain(args.run_id, args.compare_to)) })),
  );

  server.registerTool(
    'run_replay',
    {
      title: 'Replay a run offline',
      description:
        "Re-execute a recorded run from the audit log as a new linked run: every agent call, gate and person's decision answered from the record, no agent or model called. Returns identical, or the first divergence (node, field, expected, actual). With from, reuses what that node does not depend on.",
      inputSchema: z.object({
        run_id: z.string().min(1),
        from: z.string().min(1).optional(),
        allow_changed: z.boolean().optional(),
      }),
      outputSchema: Loose,
    },
    async (args, ctx) =>
      guard(async () => ({
        ...(await app.engine.replay(args.run_id, {
          offline: true,
          from: args.from,
          allowChanged: args.allow_changed,
          signal: untilStop(ctx.mcpReq.signal),
        })),
      })),
  );

  server.registerTool(
    'audit_query',
    {
      title: 'Query the audit log',
      description:
        'One read-only SQL statement against the audit log (runs, events, attempts, agent_calls, node_snapshots, decisions, ...). Writes are refused.',
      inputSchema: z.object({ sql: z.string().min(1) }),
      outputSchema: Loose,
      annotations: { readOnlyHint: true },
    },
    async (args) => guard(async () => ({ ...(await app.audit.query(args.sql)) })),
  );

  server.registerTool(
    'observe',
    {
      title: 'Observe runs',
      description: 'Run the observability detectors (one run, or all) and return findings and pending proposals.',
      inputSchema: z.object({ run_id: z.string().min(1).optional() }),
      outputSchema: Loose,
    },
    async (args) =>
      guard(async () => {
        const results = await app.observe.observe(args.run_id ? { runId: args.run_id } : { all: true });
        const pending = await app.observe.proposals.list('pending');
        return {
          findings: results.flatMap((r) =>
            r.findings.map((f) => ({
              run_id: r.run_id,
              kind: f.kind,
              severity: f.severity,
              message: f.message,
              evidence: f.evidence,
            })),
          ),
          proposals: pending,
        };
      }),
  );
}
