/**
 * The Output error view's strip: the relative output error of each sampled query row, coloured by
 * the row's recall, the whole-head error as a line, and the worst rows marked by their number.
 */
import { axisBottom, axisLeft, scaleLinear } from 'd3';
import type { OutputErrorBreakdown } from '../../../contract/api';
import { recallColour } from '../charts/colormap';
import { worstRows } from '../state/diagnosis';
import { Axis } from './common';
import { fmtPercent } from './format';
import { useContentWidth } from './useContentWidth';

const CHART_HEIGHT = 240;
const MARGIN = { top: 16, right: 14, bottom: 34, left: 62 };
const MARKED_ROWS = 5;

export function RowErrorChart({ breakdown, seqLen }: { breakdown: OutputErrorBreakdown; seqLen: number }) {
  const [boxRef, width] = useContentWidth(320, 640);
  const first = breakdown.rows[0] ?? 0;
  const x = scaleLinear().domain([first, seqLen]).range([MARGIN.left, width - MARGIN.right]);
  const top = Math.max(1e-6, ...breakdown.rowError);
  const y = scaleLinear().domain([0, top]).nice().range([CHART_HEIGHT - MARGIN.bottom, MARGIN.top]);
  const barWidth = Math.max(1, (width - MARGIN.left - MARGIN.right) / Math.max(1, breakdown.rows.length) - 0.5);
  const marked = new Set(worstRows(breakdown, MARKED_ROWS).map((r) => r.row));
  return (
    <div ref={boxRef} className="row-error-box">
      <svg width={width} height={CHART_HEIGHT} className="chart" role="img" aria-label="Relative output error per sampled query row" data-testid="row-error-strip">
        <Axis axis={axisBottom(x).ticks(Math.max(3, Math.floor(width / 100)))} transform={`translate(0,${CHART_HEIGHT - MARGIN.bottom})`} />
        <Axis axis={axisLeft(y).ticks(5, '.0%')} transform={`translate(${MARGIN.left},0)`} />
        <text className="axis-label" x={(width + MARGIN.left) / 2} y={CHART_HEIGHT - 4} textAnchor="middle">
          query row (sampled)
        </text>
        <text className="axis-label" transform={`translate(12,${(CHART_HEIGHT - MARGIN.bottom) / 2}) rotate(-90)`} textAnchor="middle">
          output error
        </text>
        <line className="error-mean" x1={MARGIN.left} x2={width - MARGIN.right} y1={y(breakdown.outputRelError)} y2={y(breakdown.outputRelError)}>
          <title>whole-head output error {fmtPercent(breakdown.outputRelError, 2)}</title>
        </line>
        {breakdown.rows.map((row, r) => (
          <rect key={row} x={x(row) - barWidth / 2} width={barWidth} y={y(breakdown.rowError[r]!)} height={Math.max(0.5, y(0) - y(breakdown.rowError[r]!))} fill={recallColour(breakdown.rowRecall[r]!)}>
            <title>
              row {row}: error {fmtPercent(breakdown.rowError[r], 2)}, recall {breakdown.rowRecall[r]!.toFixed(4)}
            </title>
          </rect>
        ))}
        {breakdown.rows.map((row, r) =>
          marked.has(row) ? (
            <text key={`mark-${row}`} className="row-mark" x={x(row)} y={y(breakdown.rowError[r]!) - 4} textAnchor="middle">
              {row}
            </text>
          ) : null,
        )}
      </svg>
    </div>
  );
}
