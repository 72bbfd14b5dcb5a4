/** Recall versus density for a family of budgets of one head's pattern (head.budgetCurve). */
import { axisBottom, axisLeft, line, scaleLinear } from 'd3';
import type { BudgetCurve } from '../../../contract/api';
import { Axis } from './common';

const WIDTH = 300;
const HEIGHT = 190;
const MARGIN = { top: 10, right: 12, bottom: 34, left: 44 };

export function BudgetCurveChart({ curve, current }: { curve: BudgetCurve; current: { recall: number; density: number } | null }) {
  const points = [...curve.points].sort((p, q) => p.density - q.density);
  const maxDensity = Math.max(0.05, ...points.map((p) => p.density), current?.density ?? 0);
  const minRecall = Math.min(0.5, ...points.map((p) => p.recall), current?.recall ?? 1);
  const x = scaleLinear().domain([0, maxDensity]).nice().range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = scaleLinear().domain([Math.floor(minRecall * 10) / 10, 1]).range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const path = line<(typeof points)[number]>()
    .x((p) => x(p.density))
    .y((p) => y(p.recall))(points);
  return (
    <svg className="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Recall versus density for this head's budgets" data-testid="budget-curve">
      <Axis axis={axisBottom(x).ticks(5, '.0%')} transform={`translate(0,${HEIGHT - MARGIN.bottom})`} />
      <Axis axis={axisLeft(y).ticks(5)} transform={`translate(${MARGIN.left},0)`} />
      <text className="axis-label" x={(WIDTH + MARGIN.left) / 2} y={HEIGHT - 4} textAnchor="middle">
        density (computed share of causal entries)
      </text>
      <text className="axis-label" transform={`translate(11,${(HEIGHT - MARGIN.bottom) / 2}) rotate(-90)`} textAnchor="middle">
        recall
      </text>
      {path && <path d={path} className="series-line" />}
      {points.map((p) => (
        <circle key={`${p.a}-${p.b}`} cx={x(p.density)} cy={y(p.recall)} r={3} className="series-point">
          <title>
            budget ({p.a}, {p.b}): recall {p.recall.toFixed(4)}, density {(p.density * 100).toFixed(1)}%
          </title>
        </circle>
      ))}
      {current && (
        <circle cx={x(current.density)} cy={y(current.recall)} r={5} className="current-point">
          <title>current setting</title>
        </circle>
      )}
    </svg>
  );
}
