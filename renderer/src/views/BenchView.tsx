/**
 * Benchmark: dense vs sparse pre-fill per layer on the chosen backend, and a latency-vs-context
 * sweep on synthetic inputs with the speedup line. Every number carries its device and precision.
 */
import { axisBottom, axisLeft, axisRight, line, max, scaleBand, scaleLinear, scaleLog } from 'd3';
import { useMemo, useState } from 'react';
import type { Backend, BenchResult, Report } from '../../../contract/api';
import { useApp } from '../state/context';
import { isActive } from '../state/store';
import { Axis, JobProgress, Stat } from './common';
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

interface LayerTiming {
  layer: number;
  denseMs: number;
  indexMs: number;
  sparseMs: number;
}

export function layerTimings(report: Report): LayerTiming[] {
  const byLayer = new Map<number, LayerTiming>();
  for (const h of report.heads) {
    const t = byLayer.get(h.layer) ?? { layer: h.layer, denseMs: 0, indexMs: 0, sparseMs: 0 };
    t.denseMs += h.denseMs;
    t.indexMs += h.indexMs;
    t.sparseMs += h.sparseMs;
    byLayer.set(h.layer, t);
  }
  return [...byLayer.values()].sort((x, y) => x.layer - y.layer);
}

const W = 560;
const H = 250;
const M = { top: 14, right: 48, bottom: 38, left: 56 };

function LayerBars({ report }: { report: Report }) {
  const rows = layerTimings(report);
  const x = scaleBand<number>().domain(rows.map((r) => r.layer)).range([M.left, W - M.right]).padding(0.25);
  const y = scaleLinear().domain([0, max(rows, (r) => Math.max(r.denseMs, r.indexMs + r.sparseMs)) ?? 1]).nice().range([H - M.bottom, M.top]);
  const half = x.bandwidth() / 2;
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Dense and sparse time per layer" data-testid="layer-bars">
      <Axis axis={axisBottom(x).tickValues(x.domain().filter((_, i) => i % Math.ceil(rows.length / 16) === 0))} transform={`translate(0,${H - M.bottom})`} />
      <Axis axis={axisLeft(y).ticks(5)} transform={`translate(${M.left},0)`} />
      <text className="axis-label" x={(W + M.left - M.right) / 2} y={H - 4} textAnchor="middle">
        layer
      </text>
      <text className="axis-label" transform={`translate(14,${(H - M.bottom) / 2}) rotate(-90)`} textAnchor="middle">
        ms (sum over heads)
      </text>
      {rows.map((r) => (
        <g key={r.layer}>
          <rect className="bar-dense" x={x(r.layer)} y={y(r.denseMs)} width={half} height={y(0) - y(r.denseMs)}>
            <title>
              layer {r.layer} dense {fmtMs(r.denseMs)}
            </title>
          </rect>
          <rect className="bar-index" x={(x(r.layer) ?? 0) + half} y={y(r.indexMs)} width={half} height={y(0) - y(r.indexMs)} />
          <rect className="bar-sparse" x={(x(r.layer) ?? 0) + half} y={y(r.indexMs + r.sparseMs)} width={half} height={y(r.indexMs) - y(r.indexMs + r.sparseMs)}>
            <title>
              layer {r.layer} index {fmtMs(r.indexMs)} + sparse {fmtMs(r.sparseMs)} = {fmtSpeedupOf({ speedup: r.denseMs / (r.indexMs + r.sparseMs), speedupKind: 'measured' })}
            </title>
          </rect>
        </g>
      ))}
    </svg>
  );
}

/** The sweep chart's header: the device and precision its points ran on (one of each for one job). */
export function sweepDeviceTag(sweep: BenchResult['sweep']): string {
  return [...new Set(sweep.map((point) => `${point.device} · ${point.dtype}`))].join(' | ');
}

function SweepChart({ sweep }: { sweep: BenchResult['sweep'] }) {
  const points = [...sweep].sort((p, q) => p.seqLen - q.seqLen);
  const measured = points.flatMap((p) => [p.denseMs, p.indexMs + p.sparseMs]).filter((v) => v > 0);
  const ms = measured.length > 0 ? measured : [1];
  const x = scaleLog().base(2).domain([points[0]?.seqLen ?? 1024, points.at(-1)?.seqLen ?? 2048]).range([M.left, W - M.right]);
  const y = scaleLog().domain([Math.min(...ms) * 0.8, Math.max(...ms) * 1.25]).range([H - M.bottom, M.top]);
  const s = scaleLinear().domain([0, Math.max(2, ...points.map((p) => p.speedup)) * 1.1]).range([H - M.bottom, M.top]);
  const dense = line<(typeof points)[number]>().x((p) => x(p.seqLen)).y((p) => y(Math.max(p.denseMs, 1e-3)))(points);
  const sparse = line<(typeof points)[number]>().x((p) => x(p.seqLen)).y((p) => y(Math.max(p.indexMs + p.sparseMs, 1e-3)))(points);
  const speedup = line<(typeof points)[number]>().x((p) => x(p.seqLen)).y((p) => s(p.speedup))(points);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Latency versus context length" data-testid="sweep-chart">
      <Axis axis={axisBottom(x).tickValues(points.map((p) => p.seqLen)).tickFormat((v) => fmtTokens(Number(v)))} transform={`translate(0,${H - M.bottom})`} />
      <Axis axis={axisLeft(y).tickValues(y.ticks().filter((v) => /^[125]/.test(v.toExponential()))).tickFormat((v) => `${+Number(v).toPrecision(3)}`)} transform={`translate(${M.left},0)`} />
      <Axis axis={axisRight(s).ticks(5).tickFormat((v) => `${Number(v)}×`)} transform={`translate(${W - M.right},0)`} />
      <text className="axis-label" x={(W + M.left - M.right) / 2} y={H - 4} textAnchor="middle">
        context length (tokens)
      </text>
      <text className="axis-label" transform={`translate(14,${(H - M.bottom) / 2}) rotate(-90)`} textAnchor="middle">
        latency, ms (log)
      </text>
      {dense && <path d={dense} className="line-dense" />}
      {sparse && <path d={sparse} className="line-sparse" />}
      {speedup && <path d={speedup} className="line-speedup" />}
      {points.map((p) => (
        <g key={p.seqLen}>
          <circle cx={x(p.seqLen)} cy={y(Math.max(p.denseMs, 1e-3))} r={3} className="dot-dense" />
          <circle cx={x(p.seqLen)} cy={y(Math.max(p.indexMs + p.sparseMs, 1e-3))} r={3} className="dot-sparse" />
          <circle cx={x(p.seqLen)} cy={s(p.speedup)} r={3} className="dot-speedup">
            <title>
              {fmtTokens(p.seqLen)}: dense {fmtMs(p.denseMs)}, sparse {fmtMs(p.indexMs + p.sparseMs)}, {fmtSpeedup(p.speedup)} measured, recall {fmtRecall(p.meanRecall)}
            </title>
          </circle>
        </g>
      ))}
    </svg>
  );
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
