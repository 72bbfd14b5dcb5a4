/** What `npm run build` records in dist/build-info.json (tools/build-info.js). */
export interface BuildInfo {
  /** The product name, "Sparsescope". */
  name: string;
  version: string;
  /** ISO 8601, UTC. */
  builtAt: string;
}

/** "Sparsescope 0.1.0, built 2026-12-07 09:11 UTC": the same words in the help overlay and `sparsescope --version`. */
export function buildLabel(info: BuildInfo): string {
  return `${info.name} ${info.version}, built ${info.builtAt.slice(0, 16).replace('T', ' ')} UTC`;
}
