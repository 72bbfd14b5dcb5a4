/**
 * Where a command's time goes between the addon's ops: with SPARSESCOPE_OP_TIMES set, loadNative
 * wraps every addon function so each call's wall time (until its promise settles) is summed per
 * op, and the table goes to stderr every 30 s and when the process (or worker) exits. Diagnostics
 * for long runs on the GPU machine (a 1M-token search), where a profiler is not at hand; off by
 * default.
 */
export interface OpTime {
  op: string;
  calls: number;
  totalMs: number;
  maxMs: number;
}

export class OpTimes {
  private readonly byOp = new Map<string, OpTime>();
  private readonly startedAt = performance.now();

  record(op: string, ms: number): void {
    const entry = this.byOp.get(op) ?? { op, calls: 0, totalMs: 0, maxMs: 0 };
    entry.calls += 1;
    entry.totalMs += ms;
    entry.maxMs = Math.max(entry.maxMs, ms);
    this.byOp.set(op, entry);
  }

  /** Ops by total time, largest first. */
  entries(): OpTime[] {
    return [...this.byOp.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  /** One line per op, then the wall time outside every op (JavaScript, file reads, waiting). */
  summary(now = performance.now()): string {
    const wallMs = now - this.startedAt;
    const inOps = this.entries().reduce((sum, e) => sum + e.totalMs, 0);
    const lines = this.entries().map((e) => `  ${e.op.padEnd(24)} ${String(e.calls).padStart(6)} calls ${(e.totalMs / 1000).toFixed(2).padStart(9)} s  max ${e.maxMs.toFixed(1)} ms`);
    return [`op times (SPARSESCOPE_OP_TIMES), wall ${(wallMs / 1000).toFixed(2)} s:`, ...lines, `  outside ops ${((wallMs - inOps) / 1000).toFixed(2)} s`].join('\n');
  }
}

/**
 * The op's name, marked "[sample]" when the call runs on a row selection of at most half the
 * sequence (a search's sampled probe), so that the table tells the sampled measures from those on
 * every evaluated row (a row selection of nearly N): at 1M tokens they differ 20- to 100-fold in cost.
 */
export function opLabel(name: string, args: readonly unknown[]): string {
  const seqLen = (args[0] as { seqLen?: unknown } | undefined)?.seqLen;
  const rows = args.map((arg) => (arg as { rows?: unknown } | null)?.rows).find((value) => value instanceof Int32Array);
  return typeof seqLen === 'number' && rows && rows.length <= seqLen / 2 ? `${name} [sample]` : name;
}

/** `target` with each function timed into `times` (calls overlapping in time each count in full). */
export function timedFunctions<T extends object>(target: T, times: OpTimes): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    if (typeof value !== 'function') {
      wrapped[name] = value;
      continue;
    }
    wrapped[name] = (...args: unknown[]) => {
      const start = performance.now();
      const done = () => times.record(opLabel(name, args), performance.now() - start);
      const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
      if (result instanceof Promise) return result.finally(done);
      done();
      return result;
    };
  }
  return wrapped as T;
}

const OP_TIMES_INTERVAL_MS = 30_000;

/** The addon timed per op, with the table printed on exit and every 30 s, when SPARSESCOPE_OP_TIMES is set; else unchanged. */
export function withOpTimes<T extends object>(addon: T, env: NodeJS.ProcessEnv = process.env): T {
  if (!env['SPARSESCOPE_OP_TIMES']) return addon;
  const times = new OpTimes();
  const print = () => process.stderr.write(`${times.summary()}\n`);
  process.once('exit', print);
  // Also every half minute: the addon may run in a compute worker, whose exit a run stopped by its
  // time budget never reaches.
  setInterval(print, OP_TIMES_INTERVAL_MS).unref();
  return timedFunctions(addon, times);
}
