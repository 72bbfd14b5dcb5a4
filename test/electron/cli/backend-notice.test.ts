import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from './run.js';

// A native module that reports an H100 with the CUDA build's head dims and computes with the
// TypeScript reference (which ignores the backend): the CLI's choice shows in the report.
vi.mock('../../../electron/engine/native.js', async () => {
  const { referenceNative } = await import('../engine/analysis/reference-native.js');
  const h100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', totalMemoryBytes: 85e9, freeMemoryBytes: 84e9, computeCapability: '9.0' };
  const native = { ...referenceNative(), deviceInfo: () => ({ cpuThreads: 2, cuda: { compiled: true, available: true, headDims: [64, 96, 128], devices: [h100] } }) };
  return { loadNative: () => native };
});

let dir: string;
let capturePath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparsescope-backend-'));
  capturePath = join(dir, 'd80.safetensors');
  const demo = await run(['demo', '--out', capturePath, '--seq', '192', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--head-dim', '80']);
  expect(demo.code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--backend with a capture the CUDA build cannot run (head_dim 80)', () => {
  it('auto runs on the CPU and says so once on stderr', async () => {
    const { code, stdout, stderr } = await run(['analyze', capturePath, '--rows', '32', '--json']);
    expect(code).toBe(0);
    const notice = 'CUDA cannot run head_dim 80 (supported: 64, 96, 128); using the CPU';
    expect(stderr.split('\n').filter((line) => line.includes(notice))).toEqual([`sparsescope: ${notice}`]);
    const report = JSON.parse(stdout);
    expect(report.backend).toBe('cpu');
    expect(report.notices).toEqual([notice]);
  });

  it('cuda is a user error with a one-line message', async () => {
    const { code, stdout, stderr } = await run(['analyze', capturePath, '--rows', '32', '--backend', 'cuda', '--json']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('sparsescope: backend cuda requested but CUDA cannot run head_dim 80 (supported: 64, 96, 128): use --backend cpu or auto\n');
  });
});
