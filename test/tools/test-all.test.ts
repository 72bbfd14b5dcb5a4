import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript tool without type declarations
import { countResults, failedOutsideReport } from '../../tools/test-all.js';

function report(files: { status: string; message?: string; tests: string[] }[], counts: { passed: number; failed: number; pending?: number; todo?: number }) {
  return {
    numPassedTests: counts.passed,
    numFailedTests: counts.failed,
    numPendingTests: counts.pending ?? 0,
    numTodoTests: counts.todo ?? 0,
    numTotalTestSuites: files.length,
    testResults: files.map((file, i) => ({ name: `/repo/test/f${i}.test.ts`, status: file.status, message: file.message ?? '', assertionResults: file.tests.map((status) => ({ status })) })),
  };
}

describe('test-all countResults', () => {
  it('sums passed, failed and skipped from the vitest JSON report', () => {
    const counts = countResults(report([{ status: 'passed', tests: ['passed', 'passed', 'skipped'] }, { status: 'failed', tests: ['passed', 'failed'] }], { passed: 3, failed: 1, pending: 1, todo: 1 }));
    expect(counts).toMatchObject({ passed: 3, failed: 1, skipped: 2, files: 2, fileErrors: [] });
  });

  it('counts a test file that failed to load (no failed test inside) as one failure', () => {
    const counts = countResults(report([{ status: 'failed', message: 'Cannot find module ../native.js', tests: [] }, { status: 'passed', tests: ['passed'] }], { passed: 1, failed: 0 }));
    expect(counts.failed).toBe(1);
    expect(counts.fileErrors).toEqual(['/repo/test/f0.test.ts: Cannot find module ../native.js']);
  });

  it('counts a run that exited non-zero with no failed test (an error outside any test) as failed', () => {
    const ok = { signal: null, error: undefined, status: 0 };
    expect(failedOutsideReport(ok, { failed: 0 })).toBe(false);
    expect(failedOutsideReport({ ...ok, status: 1 }, { failed: 0 })).toBe(true);
    expect(failedOutsideReport({ ...ok, status: 1 }, { failed: 2 })).toBe(false);
    expect(failedOutsideReport({ ...ok, status: null, signal: 'SIGTERM' }, { failed: 0 })).toBe(true);
  });
});
