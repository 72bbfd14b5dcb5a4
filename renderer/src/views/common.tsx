import { select, type Axis as D3Axis, type AxisDomain } from 'd3';
import { useEffect, useRef } from 'react';
import type { JobEvent, PatternName, WorkerProgress } from '../../../contract/api';
import { fmtEta, PATTERN_LABEL, PATTERNS } from './format';

export function PatternSwatch({ pattern }: { pattern: PatternName }) {
  return <span className={`swatch pat-${pattern}`} aria-hidden="true" />;
}

export function PatternLegend({ counts }: { counts?: Record<PatternName, number> }) {
  return (
    <ul className="legend" aria-label="Pattern colours">
      {PATTERNS.map((pattern) => (
        <li key={pattern}>
          <PatternSwatch pattern={pattern} /> {PATTERN_LABEL[pattern]}
          {counts && <span className="muted"> {counts[pattern]}</span>}
        </li>
      ))}
      <li>
        <span className="swatch warn-swatch" aria-hidden="true" /> recall &lt; 0.9
      </li>
    </ul>
  );
}

/** A d3 axis rendered into an SVG group. */
export function Axis<D extends AxisDomain>({ axis, transform }: { axis: D3Axis<D>; transform?: string }) {
  const ref = useRef<SVGGElement>(null);
  useEffect(() => {
    if (ref.current) select(ref.current).call(axis);
  }, [axis]);
  return <g ref={ref} className="axis" transform={transform} />;
}

export function JobProgress({ job, onCancel }: { job: JobEvent | undefined; onCancel?: () => void }) {
  if (!job) return null;
  const active = job.state === 'running' || job.state === 'queued';
  return (
    <div className={`job job-${job.state}`} data-testid={`job-${job.kind}`} data-state={job.state}>
      <div className="job-line">
        <progress max={1} value={job.progress} aria-label={`${job.kind} progress`} />
        <span className="job-percent">{(job.progress * 100).toFixed(0)}%</span>
        {active && <span className="muted">{fmtEta(job.etaSeconds)}</span>}
        {active && onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <div className="muted job-message">
        {job.state}
        {(job.error ?? job.message) && (job.error ?? job.message) !== job.state ? `: ${job.error ?? job.message}` : ''}
      </div>
      {active && job.workers && <WorkerBars workers={job.workers} />}
    </div>
  );
}

/** A job's part on each compute worker (one per GPU): the shard it computes, how far, and how many it finished. */
function WorkerBars({ workers }: { workers: WorkerProgress[] }) {
  return (
    <ul className="job-workers" aria-label="Progress per worker">
      {workers.map(({ worker, shard, progress, shardsDone }) => (
        <li key={worker} data-testid="job-worker">
          <span className="truncate" title={worker}>
            {worker}
          </span>
          <progress max={1} value={shard === null ? 0 : progress} aria-label={`${worker} progress`} />
          <span className="muted">
            {shard ?? 'idle'} · {shardsDone} done
          </span>
        </li>
      ))}
    </ul>
  );
}

export function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="stat" title={hint}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
