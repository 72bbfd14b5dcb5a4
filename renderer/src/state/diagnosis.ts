/** Reading a head's output-error breakdown: which rows lose most, and what the missing mass says about the budget. */
import type { HeadPattern, OutputErrorBreakdown } from '../../../contract/api';

/** Below this mean missing mass per row, a head's budget misses nothing worth a diagnosis. */
const NEGLIGIBLE_MASS = 0.005;
/** The share of the missing mass a few keys must carry to be "the" reason. */
const CONCENTRATED = 0.5;

export interface RowLoss {
  row: number;
  error: number;
  recall: number;
}

/** The `count` sampled rows with the highest output error, worst first. */
export function worstRows(breakdown: Pick<OutputErrorBreakdown, 'rows' | 'rowError' | 'rowRecall'>, count: number): RowLoss[] {
  return breakdown.rows
    .map((row, r) => ({ row, error: breakdown.rowError[r] ?? 0, recall: breakdown.rowRecall[r] ?? 1 }))
    .sort((x, y) => y.error - x.error || x.row - y.row)
    .slice(0, count);
}

export interface Diagnosis {
  /** What the numbers show, in one sentence. */
  finding: string;
  /** Which parameter would catch it. */
  advice: string;
  kind: 'fine' | 'columns' | 'diagonals' | 'spread';
}

const sum = (masses: { mass: number }[]) => masses.reduce((total, m) => total + m.mass, 0);
const pct = (share: number) => `${Math.round(share * 100)}%`;

/** Why the budget is not enough: whether a few columns, a few diagonals, or no small set of keys hold the missing mass. */
export function diagnose(breakdown: Pick<OutputErrorBreakdown, 'missingMass' | 'topColumns' | 'topDiagonals'>, pattern: HeadPattern): Diagnosis {
  const missing = breakdown.missingMass;
  if (pattern.pattern === 'dense' || missing < NEGLIGIBLE_MASS) {
    return { kind: 'fine', finding: `The pattern keeps ${pct(1 - missing)} of the attention mass on these rows.`, advice: 'Nothing worth catching is skipped: the remaining output error is what the small misses add up to.' };
  }
  const columnShare = sum(breakdown.topColumns) / missing;
  const diagonalShare = sum(breakdown.topDiagonals) / missing;
  const lost = `Rows lose ${pct(missing)} of their attention mass on average`;
  if (columnShare >= CONCENTRATED && columnShare >= diagonalShare) {
    const advice: Record<HeadPattern['pattern'], string> = {
      vertical_and_slash: `raise vertical_size (now ${pattern.a}) so the estimate keeps these columns`,
      stream_llm: `a fixed window cannot follow them: raise n_init (now ${pattern.a}) if they sit at the start, else try Vertical-Slash`,
      block_sparse: `raise top_k (now ${pattern.a}) so their key blocks are kept`,
      dense: '',
      xattention: `raise the threshold (now ${pattern.a / 1000}) so more of their key blocks are kept`,
      flexprefill: `raise gamma (now ${pattern.a / 1000}) so more of their key blocks are kept`,
    };
    return { kind: 'columns', finding: `${lost}; ${pct(columnShare)} of it sits in ${breakdown.topColumns.length} key columns.`, advice: `These are keys many rows need: ${advice[pattern.pattern]}.` };
  }
  if (diagonalShare >= CONCENTRATED) {
    const advice: Record<HeadPattern['pattern'], string> = {
      vertical_and_slash: `raise slash_size (now ${pattern.b}) so these diagonals are kept`,
      stream_llm: `raise n_local (now ${pattern.b}) to widen the window over them`,
      block_sparse: `raise top_k (now ${pattern.a}) so the blocks along them are kept`,
      dense: '',
      xattention: `raise the threshold (now ${pattern.a / 1000}) or lower the stride (now ${pattern.b}) so the blocks along them score higher`,
      flexprefill: `raise gamma (now ${pattern.a / 1000}) so more slash blocks are kept`,
    };
    return { kind: 'diagonals', finding: `${lost}; ${pct(diagonalShare)} of it sits on ${breakdown.topDiagonals.length} diagonals (fixed distances back).`, advice: `${advice[pattern.pattern][0]!.toUpperCase()}${advice[pattern.pattern].slice(1)}.` };
  }
  return {
    kind: 'spread',
    finding: `${lost}, spread thinly: the top columns hold ${pct(columnShare)} of it and the top diagonals ${pct(diagonalShare)}.`,
    advice: 'No small set of keys explains the loss: this head needs a larger budget overall, or to run dense.',
  };
}
