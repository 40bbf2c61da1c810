import { claudeDialect } from './adapters/claude-code.js';
import { codexDialect } from './adapters/codex.js';
import type { CliDialect } from './adapters/dialect.js';
import { newStreamState } from './adapters/dialect.js';
import { geminiDialect } from './adapters/gemini.js';

/** One line of an agent's transcript as a person reads it. */
export interface TranscriptEntry {
  /** `text` what the agent said, `tool` a tool call or command it ran, `output`/`stderr` a process's lines. */
  readonly kind: 'text' | 'tool' | 'error' | 'output' | 'stderr';
  readonly text: string;
}

const DIALECTS: Readonly<Record<string, CliDialect>> = {
  'claude-code': claudeDialect,
  codex: codexDialect,
  gemini: geminiDialect,
};

const short = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v ?? null);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
};

/** A tool call rendered on one line: the command for a shell tool, else the tool's name and input. */
export function toolText(name: string, input: unknown): string {
  const cmd = (input as { command?: unknown } | null)?.command;
  return typeof cmd === 'string' ? `$ ${cmd}` : `${name} ${short(input)}`;
}

/**
 * Reads a stored transcript (agent kind `claude-code`, `codex`, `gemini`, `llm`, `shell`, `manual`): the stream
 * frames of a coding-agent CLI become what it said and the tools it called; a process's lines stay lines.
 */
export function readTranscript(kind: string, transcript: string): TranscriptEntry[] {
  const out: TranscriptEntry[] = [];
  if (kind === 'manual') return transcript ? [{ kind: 'text', text: transcript }] : [];
  if (kind === 'llm') {
    for (const line of transcript.split('\n')) {
      try {
        const f = JSON.parse(line) as { response?: { text?: unknown; error?: unknown } };
        if (typeof f.response?.text === 'string' && f.response.text) out.push({ kind: 'text', text: f.response.text });
        if (typeof f.response?.error === 'string' && f.response.error)
          out.push({ kind: 'error', text: f.response.error });
      } catch {
        // a request line or a partial frame
      }
    }
    return out;
  }
  const dialect = DIALECTS[kind];
  const state = newStreamState();
  for (const raw of transcript.split('\n')) {
    if (raw === '') continue;
    const stream = raw.startsWith('2|') ? 'stderr' : 'stdout';
    const line = raw.startsWith('1|') || raw.startsWith('2|') ? raw.slice(2) : raw;
    if (stream === 'stderr') {
      out.push({ kind: 'stderr', text: line });
      continue;
    }
    if (!dialect) {
      out.push({ kind: 'output', text: line });
      continue;
    }
    const before = state.garbage;
    for (const e of dialect.parseLine(line, state)) {
      if (e.type === 'message') out.push({ kind: 'text', text: e.text });
      else if (e.type === 'tool_use') out.push({ kind: 'tool', text: toolText(e.name, e.input) });
      else if (e.type === 'error') out.push({ kind: 'error', text: e.message });
    }
    if (state.garbage > before && line.trim() !== '') out.push({ kind: 'output', text: line });
  }
  for (const e of state.errors) out.push({ kind: 'error', text: e });
  return out;
}
