/**
 * What a command may touch of the outside world: two output streams and a cancel signal. The
 * launcher passes the process's own; tests pass string collectors.
 */
export interface OutStream {
  write(text: string): unknown;
  /** A terminal gets a single updating progress line; anything else gets plain lines. */
  isTTY?: boolean;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  /** Aborted on Ctrl-C: long commands stop at their next cancellation check. */
  signal?: AbortSignal;
}

export type ProgressFn = (fraction: number, message?: string) => void;

/** Progress on stderr: an updating line on a terminal, else a line per 10% step or new message. */
export function progressReporter(stderr: OutStream, label: string): { report: ProgressFn; done(): void } {
  let lastStep = -1;
  let lastMessage = '';
  let drawn = false;
  return {
    report(fraction, message = '') {
      const percent = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
      const line = `${label} ${String(percent).padStart(3)}%${message ? ` ${message}` : ''}`;
      if (stderr.isTTY) {
        stderr.write(`\r\x1b[2K${line}`);
        drawn = true;
        return;
      }
      const step = Math.floor(percent / 10);
      if (step === lastStep && message === lastMessage) return;
      lastStep = step;
      lastMessage = message;
      stderr.write(`${line}\n`);
    },
    done() {
      if (drawn) stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** The native module's cancel flag, raised when the signal aborts. */
export function cancelFlag(signal: AbortSignal | undefined): Int32Array {
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  if (signal?.aborted) cancel[0] = 1;
  signal?.addEventListener('abort', () => Atomics.store(cancel, 0, 1), { once: true });
  return cancel;
}
