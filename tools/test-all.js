#!/usr/bin/env node
// `npm test`: the type check of sources and tests (`npm run typecheck`, one check), every vitest
// project (unit, native, e2e, fuzz), each with the JSON reporter to a temp file, then the packaging
// check (`npm run package:check`, which writes its counts the same way); a summary per suite, and
// a last line exactly `N passed, N failed` (plus `, N skipped` when some were skipped). Exit status
// 1 if any test failed or a suite crashed. Builds first when dist/ or the native addon is missing.
// `node tools/test-all.js unit` runs only the named suites.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SUITES = ['typecheck', 'unit', 'timing', 'native', 'e2e', 'fuzz', 'package'];
/** A suite still running after this is killed and counted as crashed. */
const SUITE_TIMEOUT_MS = 30 * 60 * 1000;

const repo = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/** Build what the tests need; a failed build is reported and counted, the tests still run. */
function ensureBuilt() {
  const steps = [
    { output: 'native/build/Release/sparsescope.node', script: 'install', what: 'the native addon' },
    { output: 'dist/electron/cli/main.js', script: 'build', what: 'dist/' },
    { output: 'dist/renderer/index.html', script: 'build', what: 'dist/' },
  ];
  const failures = [];
  const done = new Set();
  for (const step of steps) {
    if (existsSync(join(repo, step.output)) || done.has(step.script)) continue;
    done.add(step.script);
    console.log(`test-all: ${step.output} is missing: building ${step.what} (npm run ${step.script})`);
    const result = spawnSync(npm, ['run', step.script], { cwd: repo, stdio: 'inherit' });
    if (result.status !== 0) failures.push(`npm run ${step.script}`);
  }
  return failures;
}

/** Counts of one suite from vitest's JSON report; a file that failed to load counts as a failure. */
export function countResults(report) {
  const fileErrors = report.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  );
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + fileErrors.length,
    skipped: report.numPendingTests + report.numTodoTests,
    files: report.testResults.length,
    fileErrors: fileErrors.map((file) => `${file.name}: ${file.message || 'failed to run'}`),
  };
}

/**
 * True when a run failed in a way its report misses: killed, not started, or a non-zero exit with
 * no failed test (vitest's JSON report leaves out errors thrown outside any test, such as an
 * unhandled 'error' event of a server the tests run in-process).
 */
export function failedOutsideReport(result, counts) {
  return result.signal !== null || result.error !== undefined || (result.status !== 0 && counts.failed === 0);
}

/** `npm run typecheck` (every tsconfig, tests included) as one check that passes or fails. */
function runTypecheck() {
  const started = Date.now();
  const result = spawnSync(npm, ['run', 'typecheck'], { cwd: repo, stdio: 'inherit', timeout: SUITE_TIMEOUT_MS });
  const passed = result.status === 0 ? 1 : 0;
  console.log(`typecheck: ${passed} passed, ${1 - passed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return { passed, failed: 1 - passed, skipped: 0 };
}

function runSuite(name, scratch) {
  const output = join(scratch, `${name}.json`);
  const started = Date.now();
  const args =
    name === 'package'
      ? [join(repo, 'tools', 'package-check.js'), `--report=${output}`]
      : [vitest, 'run', '--project', name, '--passWithNoTests', '--reporter=default', '--reporter=json', `--outputFile.json=${output}`];
  const result = spawnSync(process.execPath, args, { cwd: repo, stdio: 'inherit', timeout: SUITE_TIMEOUT_MS });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  let counts;
  try {
    const report = JSON.parse(readFileSync(output, 'utf8'));
    counts = name === 'package' ? { passed: report.passed, failed: report.failed, skipped: 0, files: 1, fileErrors: [] } : countResults(report);
  } catch {
    const why = result.error?.message ?? (result.signal ? `killed by ${result.signal}` : `exit status ${result.status}, no report`);
    console.log(`${name}: CRASHED (${why}) after ${seconds} s`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
  for (const error of counts.fileErrors) console.log(`${name}: file error: ${error}`);
  const crashed = failedOutsideReport(result, counts);
  if (crashed) counts.failed += 1;
  const skipped = counts.skipped ? `, ${counts.skipped} skipped` : '';
  console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed${skipped} (${counts.files} files, ${seconds} s)${crashed ? ' CRASHED' : ''}`);
  return counts;
}

function main() {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !SUITES.includes(name));
  if (unknown.length > 0) {
    console.error(`test-all: unknown suite ${unknown.join(', ')} (suites: ${SUITES.join(', ')})`);
    return 2;
  }
  const buildFailures = ensureBuilt();
  const scratch = mkdtempSync(join(tmpdir(), 'sparsescope-tests-'));
  const totals = { passed: 0, failed: buildFailures.length, skipped: 0 };
  try {
    const summaries = [];
    for (const name of requested.length > 0 ? requested : SUITES) {
      const counts = name === 'typecheck' ? runTypecheck() : runSuite(name, scratch);
      summaries.push(`${name}: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`);
      totals.passed += counts.passed;
      totals.failed += counts.failed;
      totals.skipped += counts.skipped;
    }
    console.log('\n---- summary ----');
    for (const failure of buildFailures) console.log(`build: ${failure} failed (counted as 1 failure)`);
    for (const line of summaries) console.log(line);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
  return totals.failed > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
