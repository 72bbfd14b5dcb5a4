/**
 * Benchmark: dense vs sparse pre-fill per layer on the chosen backend, and a latency-vs-context
 * sweep on synthetic inputs with the speedup line. Every number carries its device and precision.
 */
import { useMemo, useState } from 'react';
import type { Backend, BenchResult } from '../../../contract/api';
import { useApp } from '../state/context';
import { isActive } from '../state/store';
import { LayerBars, SweepChart } from './BenchCharts';
import { JobProgress, Stat } from './common';
import { fmtMs, fmtRecall, fmtSpeedup, fmtSpeedupOf, fmtTokens } from './format';
import { NumberField } from './NumberField';

const CPU_SWEEP = '1K, 2K, 4K, 8K';
const GPU_SWEEP = '8K, 16K, 32K, 64K, 128K';

/** "1K, 4096, 16k" -> [1024, 4096, 16384], or a message naming the bad entry. */
export function parseSweep(text: string): number[] | string {
  const lengths: number[] = [];
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const match = /^(\d+)([kK]?)$/.exec(part);
    const value = match ? Number(match[1]) * (match[2] ? 1024 : 1) : NaN;
    if (!Number.isInteger(value) || value < 64 || value > 1 << 21) return `"${part}" is not a context length between 64 and 2M tokens`;
    lengths.push(value);
  }
  return lengths.length > 0 ? lengths : 'give at least one context length';
}

/** The sweep chart's header: the device and precision its points ran on (one of each for one job). */
export function sweepDeviceTag(sweep: BenchResult['sweep']): string {
  return [...new Set(sweep.map((point) => `${point.device} · ${point.dtype}`))].join(' | ');
}

export function BenchView() {
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const device = useApp((s) => s.device);
  const bench = useApp((s) => s.bench);
  const job = useApp((s) => s.jobs.bench);
  const { startJob, cancelJob } = useApp((s) => s);
  const cudaAvailable = device?.cuda.available ?? false;
  const [backend, setBackend] = useState<Backend>('auto');
  const [repeat, setRepeat] = useState(3);
  const onGpu = backend === 'cuda' || (backend === 'auto' && device?.defaultBackend === 'cuda');
  const [sweepText, setSweepText] = useState<string | null>(null);
  const sweep = useMemo(() => parseSweep(sweepText ?? (onGpu ? GPU_SWEEP : CPU_SWEEP)), [sweepText, onGpu]);

  if (!capture || !config) return <div className="empty">No capture open.</div>;
  const running = isActive(job);
  const report = bench?.report;
  const where = report ? `${report.device} · ${report.backend.toUpperCase()} · ${report.dtype}` : null;

  return (
    <div className="bench">
      <section className="panel bench-controls">
        <h2>Benchmark</h2>
        <div className="controls">
          <label>
            Backend
            <select value={backend} onChange={(e) => setBackend(e.target.value as Backend)}>
              <option value="auto">auto ({device?.defaultBackend ?? '…'})</option>
              <option value="cpu">CPU</option>
              <option value="cuda" disabled={!cudaAvailable}>
                CUDA{cudaAvailable ? '' : ' (not available)'}
              </option>
            </select>
          </label>
          <label>
            Repeats
            <NumberField value={repeat} min={1} max={100} integer onCommit={setRepeat} testId="bench-repeat" />
          </label>
          <button type="button" className="primary" disabled={running} data-testid="start-bench" onClick={() => void startJob({ kind: 'bench', captureId: capture.captureId, config, backend, repeat })}>
            Benchmark this capture
          </button>
          <label title="Context lengths of the synthetic sweep; K = 1024 tokens">
            Sweep
            <input type="text" value={sweepText ?? (onGpu ? GPU_SWEEP : CPU_SWEEP)} onChange={(e) => setSweepText(e.target.value)} data-testid="sweep-lengths" size={22} />
          </label>
          <button type="button" disabled={running || typeof sweep === 'string'} data-testid="start-sweep" onClick={() => typeof sweep !== 'string' && void startJob({ kind: 'bench', backend, repeat, sweep })}>
            Run context sweep
          </button>
          {running && (
            <button type="button" onClick={() => void cancelJob('bench')}>
              Cancel
            </button>
          )}
        </div>
        {typeof sweep === 'string' && <p className="error-text small">Sweep: {sweep}</p>}
        <JobProgress job={job} />
        <p className="muted small">Median of the repeats after a warm-up; speedup = dense / (index + sparse) on the same backend, inputs and precision.</p>
      </section>
      {!bench && <section className="panel empty">Benchmark the capture to compare dense and sparse pre-fill per layer with the current config, or run the sweep for latency versus context length.</section>}
      {report && (
        <section className="panel" data-testid="bench-report">
          <header className="panel-head">
            <h2>This capture, {report.seqLen.toLocaleString()} tokens</h2>
            <span className="device-tag">{where}</span>
          </header>
          <div className="totals">
            <Stat label={`dense · ${report.dtype}`} value={fmtMs(report.totals.denseMs)} />
            <Stat label="index" value={fmtMs(report.totals.indexMs)} />
            <Stat label="sparse" value={fmtMs(report.totals.sparseMs)} />
            <Stat label="speedup" value={fmtSpeedupOf(report.totals)} />
            <Stat label="mean recall" value={fmtRecall(report.totals.meanRecall)} />
          </div>
          <LayerBars report={report} />
          <ul className="legend">
            <li>
              <span className="swatch bar-dense" /> dense
            </li>
            <li>
              <span className="swatch bar-index" /> index build
            </li>
            <li>
              <span className="swatch bar-sparse" /> sparse attention
            </li>
          </ul>
        </section>
      )}
      {bench && bench.sweep.length > 0 && (
        <section className="panel" data-testid="bench-sweep">
          <header className="panel-head">
            <h2>Latency vs context (synthetic GQA layer, searched per length)</h2>
            <span className="device-tag">{sweepDeviceTag(bench.sweep)}</span>
          </header>
          <SweepChart sweep={bench.sweep} />
          <ul className="legend">
            <li>
              <span className="swatch line-dense" /> dense
            </li>
            <li>
              <span className="swatch line-sparse" /> index + sparse
            </li>
            <li>
              <span className="swatch line-speedup" /> speedup, measured (right axis)
            </li>
          </ul>
          <table className="heads-table sweep-table">
            <thead>
              <tr>
                <th>tokens</th>
                <th className="num">dense</th>
                <th className="num">index + sparse</th>
                <th className="num">speedup (measured)</th>
                <th className="num">mean recall</th>
              </tr>
            </thead>
            <tbody>
              {bench.sweep.map((p) => (
                <tr key={p.seqLen}>
                  <td>{fmtTokens(p.seqLen)}</td>
                  <td className="num">{fmtMs(p.denseMs)}</td>
                  <td className="num">{fmtMs(p.indexMs + p.sparseMs)}</td>
                  <td className="num">{fmtSpeedup(p.speedup)}</td>
                  <td className="num">{fmtRecall(p.meanRecall)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
