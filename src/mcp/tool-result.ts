import { z } from 'zod';
import { isMsoError } from '../contracts/index.js';

export const Loose = z.looseObject({});

export type ToolResult = {
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

export function ok(data: Record<string, unknown>): ToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
}

/** An MsoError becomes an isError result carrying the same stable code as the CLI; anything else, MSO_INTERNAL. */
export function fail(e: unknown): ToolResult {
  const body = isMsoError(e)
    ? { code: e.code, message: e.message, details: e.details }
    : { code: 'MSO_INTERNAL', message: (e as Error)?.message ?? String(e), details: {} };
  return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: true };
}

export async function guard(fn: () => Promise<Record<string, unknown>>): Promise<ToolResult> {
  try {
    return ok(await fn());
  } catch (e) {
    return fail(e);
  }
}
