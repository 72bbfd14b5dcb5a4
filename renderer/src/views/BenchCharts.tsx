/**
 * The Benchmark view's charts: dense against index + sparse time per layer of a capture, and
 * latency versus context length with the measured speedup on a right axis.
 */
import { axisBottom, axisLeft, axisRight, line, max, scaleBand, scaleLinear, scaleLog } from 'd3';
import type { BenchResult, Report } from '../../../contract/api';
import { Axis } from './common';
import { fmtMs, fmtRecall, fmtSpeedup, fmtSpeedupOf, fmtTokens } from './format';

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

export function LayerBars({ report }: { report: Report }) {
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

export function SweepChart({ sweep }: { sweep: BenchResult['sweep'] }) {
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
