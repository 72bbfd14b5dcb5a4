/** The overview grid's tooltip for one head: its pattern, the method that wins it (after a search across methods) and its numbers. */
import type { HeadPattern, HeadStats, SearchMethod } from '../../../contract/api';
import { describePattern } from '../state/config';
import { METHOD_LABEL } from '../state/methods';
import { fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL } from './format';

/** Room the tooltip needs; near the right edge it shifts left to stay inside the panel. */
export const TOOLTIP_WIDTH = 320;

export interface HeadTooltipProps {
  layer: number;
  head: number;
  entry: HeadPattern;
  stats: HeadStats | undefined;
  winner: SearchMethod | undefined;
  left: number;
  top: number;
}

export function HeadTooltip({ layer, head, entry, stats, winner, left, top }: HeadTooltipProps) {
  return (
    <div className="tooltip" role="tooltip" style={{ left, top }}>
      <strong>
        L{layer} H{head}
      </strong>{' '}
      · {PATTERN_LABEL[entry.pattern]}
      <br />
      {describePattern(entry)}
      {winner && <> · wins: {METHOD_LABEL[winner]}</>}
      <br />
      {stats ? (
        <>
          recall {fmtRecall(stats.recall)} · density {fmtPercent(stats.density)}
          <br />
          output error {fmtPercent(stats.outputRelError, 2)} · speedup {fmtSpeedupOf(stats)}
        </>
      ) : (
        'not measured yet'
      )}
    </div>
  );
}
