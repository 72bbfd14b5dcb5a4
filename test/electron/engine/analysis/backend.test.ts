import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../contract/api.js';
import { analyzeCapture } from '../../../../electron/engine/analysis/analyze.js';
import { resolveBackend } from '../../../../electron/engine/analysis/common.js';
import type { DeviceReport, NativeBackend, NativeModule } from '../../../../electron/engine/native-api.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { referenceNative } from './reference-native.js';

const H100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', totalMemoryBytes: 85e9, freeMemoryBytes: 84e9, computeCapability: '9.0' };
const cudaReport = (headDims = [64, 96, 128]): DeviceReport => ({ cpuThreads: 4, cuda: { compiled: true, available: true, headDims, devices: [H100] } });
const noDevice: DeviceReport = { cpuThreads: 4, cuda: { compiled: true, available: false, reason: 'no CUDA device is present', headDims: [64, 96, 128], devices: [] } };
const reporting = (report: DeviceReport): NativeModule => ({ ...referenceNative(), deviceInfo: () => report });

describe('resolveBackend with the capture shape', () => {
  it('auto takes CUDA for the head dims and dtypes the build computes', () => {
    for (const headDim of [64, 96, 128])
      for (const dtype of ['F16', 'BF16'] as const) {
        expect(resolveBackend(reporting(cudaReport()), 'auto', { dtype, headDim })).toEqual({ backend: 'cuda', device: 'NVIDIA H100 80GB HBM3 (CUDA, sm 9.0)' });
      }
  });

  it('auto falls back to the CPU with a one-line notice for another head dim or F32', () => {
    const headDim80 = resolveBackend(reporting(cudaReport()), 'auto', { dtype: 'BF16', headDim: 80 });
    expect(headDim80.backend).toBe('cpu');
    expect(headDim80.notice).toBe('CUDA cannot run head_dim 80 (supported: 64, 96, 128); using the CPU');
    const f32 = resolveBackend(reporting(cudaReport()), 'auto', { dtype: 'F32', headDim: 128 });
    expect(f32.backend).toBe('cpu');
    expect(f32.notice).toBe('CUDA cannot run F32 captures (it computes F16 and BF16); using the CPU');
  });

  it('takes the supported head dims from the native module', () => {
    expect(resolveBackend(reporting(cudaReport([128])), 'auto', { dtype: 'BF16', headDim: 96 }).notice).toBe('CUDA cannot run head_dim 96 (supported: 128); using the CPU');
  });

  it('cuda for a capture CUDA cannot run is a user error naming why', () => {
    const resolve = () => resolveBackend(reporting(cudaReport()), 'cuda', { dtype: 'BF16', headDim: 256 });
    expect(resolve).toThrow(ApiError);
    expect(resolve).toThrow('backend cuda requested but CUDA cannot run head_dim 256 (supported: 64, 96, 128): use --backend cpu or auto');
    expect(() => resolveBackend(reporting(noDevice), 'cuda', { dtype: 'BF16', headDim: 128 })).toThrow(/CUDA is not available: no CUDA device is present/);
  });

  it('gives no notice where there was no choice: no device, or the CPU asked for', () => {
    expect(resolveBackend(reporting(noDevice), 'auto', { dtype: 'F32', headDim: 80 })).not.toHaveProperty('notice');
    expect(resolveBackend(reporting(cudaReport()), 'cpu', { dtype: 'F32', headDim: 80 })).not.toHaveProperty('notice');
    expect(resolveBackend(reporting(cudaReport()), 'cpu', { dtype: 'BF16', headDim: 128 }).backend).toBe('cpu');
  });
});

describe('a report run by auto on a capture CUDA cannot run', () => {
  it('computes on the CPU and carries the notice', async () => {
    const used = new Set<NativeBackend>();
    const base = reporting(cudaReport());
    const native: NativeModule = {
      ...base,
      denseAttention: (inputs, opts, control) => (used.add(opts.backend), base.denseAttention(inputs, opts, control)),
      buildIndex: (inputs, patterns, opts, control) => (used.add(opts.backend), base.buildIndex(inputs, patterns, opts, control)),
      sparseAttention: (inputs, index, opts, control) => (used.add(opts.backend), base.sparseAttention(inputs, index, opts, control)),
      recall: (inputs, index, opts, control) => (used.add(opts.backend), base.recall(inputs, index, opts, control)),
    };
    const capture = syntheticCapture({ seqLen: 192, layers: 1, heads: 2, kvHeads: 1, headDim: 80, seed: 1, dtype: 'BF16' });
    const report = await analyzeCapture(native, capture, { backend: 'auto', sampling: { mode: 'sampled', rows: 32, seed: 0 } });
    expect(report.backend).toBe('cpu');
    expect(report.notices).toEqual(['CUDA cannot run head_dim 80 (supported: 64, 96, 128); using the CPU']);
    expect([...used]).toEqual(['cpu']);
    const supported = await analyzeCapture(native, syntheticCapture({ seqLen: 192, layers: 1, heads: 2, kvHeads: 1, headDim: 64, seed: 1, dtype: 'BF16' }), { backend: 'auto', sampling: { mode: 'sampled', rows: 32, seed: 0 } });
    expect(supported.backend).toBe('cuda');
    expect(supported).not.toHaveProperty('notices');
  });
});
