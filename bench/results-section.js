// Writes one script's section of bench/RESULTS.md between its markers
// `<!-- NAME:begin ... -->` and `<!-- NAME:end -->`, appending it when absent. Sections are only
// ever written by their scripts, so nothing in that file is pasted by hand.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RESULTS_PATH = fileURLToPath(new URL('RESULTS.md', import.meta.url));
const HEADER = '# Benchmark results\n\nEach section is written by the script named in it.\n';

/** `body` is the section's Markdown without markers; returns the path written. */
export function writeResultsSection(name, script, body, path = RESULTS_PATH) {
  const section = `<!-- ${name}:begin (written by ${script}; edit the script, not this section) -->\n${body.trim()}\n<!-- ${name}:end -->`;
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const marked = new RegExp(`<!-- ${name}:begin[\\s\\S]*?<!-- ${name}:end -->`);
  writeFileSync(path, marked.test(existing) ? existing.replace(marked, () => section) : `${existing.trimEnd()}\n\n${section}\n`);
  return path;
}
