import { describe, expect, it } from 'vitest';
import { layerTimings } from '../../../renderer/src/views/BenchCharts';
import { parseSweep, sweepDeviceTag } from '../../../renderer/src/views/BenchView';
import { FAKE_CAPTURE, fakeReport } from '../fake-api.js';
import { defaultConfig } from '../../../renderer/src/state/config';

describe('benchmark view helpers', () => {
  it('reads context lengths with K suffixes and names a bad entry', () => {
    expect(parseSweep('1K, 4096 16k')).toEqual([1024, 4096, 16384]);
    expect(parseSweep('1K, 12x')).toBe('"12x" is not a context length between 64 and 2M tokens');
    expect(parseSweep('32')).toBe('"32" is not a context length between 64 and 2M tokens');
    expect(parseSweep(' ')).toBe('give at least one context length');
  });

  it('heads the sweep chart with the device and precision its points ran on', () => {
    const point = { seqLen: 1024, denseMs: 1, indexMs: 0.1, sparseMs: 0.2, speedup: 3.3, meanRecall: 0.97 };
    const gpu = { ...point, device: 'NVIDIA H100 (CUDA, sm 9.0)', dtype: 'BF16' as const };
    expect(sweepDeviceTag([gpu, { ...gpu, seqLen: 2048 }])).toBe('NVIDIA H100 (CUDA, sm 9.0) · BF16');
    expect(sweepDeviceTag([gpu, { ...gpu, dtype: 'F16' }])).toBe('NVIDIA H100 (CUDA, sm 9.0) · BF16 | NVIDIA H100 (CUDA, sm 9.0) · F16');
  });

  it('sums head timings per layer', () => {
    const report = fakeReport(defaultConfig(FAKE_CAPTURE));
    const layers = layerTimings(report);
    expect(layers.map((l) => l.layer)).toEqual([0, 1, 2]);
    const layer1 = report.heads.filter((h) => h.layer === 1);
    expect(layers[1]!.denseMs).toBeCloseTo(layer1.reduce((s, h) => s + h.denseMs, 0), 12);
    expect(layers[1]!.sparseMs).toBeCloseTo(layer1.reduce((s, h) => s + h.sparseMs, 0), 12);
  });
});
