import { Diff2HtmlUI } from 'diff2html/lib-esm/ui/js/diff2html-ui-slim.js';
import 'highlight.js/styles/github.css';

/**
 * Colours the code of a diff that diff2html drew into `target` (with the same options): highlight.js, by each file's
 * language. Loaded on demand, so the first paint of the page does not pay for it.
 */
export function highlightDiff(target: HTMLElement, options: Record<string, unknown>): void {
  new Diff2HtmlUI(target, undefined, { ...options, highlight: true }).highlightCode();
}
