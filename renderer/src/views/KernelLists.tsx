/**
 * The Kernel view's side panel: one query block's kernel arguments under MInference's names
 * (block_count, block_offset, column_count, column_index) and what share of its scores it computes.
 */
import type { HeadPattern, KernelBlocks } from '../../../contract/api';
import { fmtPercent } from './format';

/** A long index list, shortened: the first entries, then how many more. */
function IndexList({ values, testId }: { values: number[]; testId: string }) {
  const shown = values.slice(0, 48);
  return (
    <div className="index-list" data-testid={testId}>
      {values.length === 0 ? <span className="muted">[ ] (none)</span> : `[${shown.join(', ')}${values.length > shown.length ? `, … +${values.length - shown.length} more` : ''}]`}
    </div>
  );
}

export function KernelLists({ blocks, pattern }: { blocks: KernelBlocks; pattern: HeadPattern }) {
  return (
    <div className="kernel-lists" data-testid="kernel-lists">
      <h2>Kernel arguments of query block {blocks.queryBlock}</h2>
      <dl className="kernel-args">
        <dt>
          <span className="swatch kernel-tile-swatch" aria-hidden="true" /> <code>block_count</code>
        </dt>
        <dd data-testid="block-count">{blocks.blockCount}</dd>
        <dt>
          <code>block_offset</code>
        </dt>
        <dd>
          <IndexList values={blocks.blockOffset} testId="block-offset" />
          <span className="muted small">first key of each 64-wide tile, loaded whole (BLOCK_N = 64)</span>
        </dd>
        <dt>
          <span className="swatch kernel-column-swatch" aria-hidden="true" /> <code>column_count</code>
        </dt>
        <dd data-testid="column-count">{blocks.columnCount}</dd>
        <dt>
          <code>column_index</code>
        </dt>
        <dd>
          <IndexList values={blocks.columnIndex} testId="column-index" />
          <span className="muted small">single key columns gathered one by one, none inside a tile</span>
        </dd>
      </dl>
      <p>
        This block computes <strong>{blocks.computedEntries.toLocaleString()}</strong> of its {blocks.causalEntries.toLocaleString()} causal scores ({fmtPercent(blocks.computedEntries / blocks.causalEntries)}); the
        whole head, {fmtPercent(blocks.density)}.
      </p>
      {blocks.window && (
        <p className="muted small">
          A-shape: inside the tiles each row keeps only the first {blocks.window[0]} keys (sink) and its last {blocks.window[1]} (local window); the grey between them is read and dropped.
        </p>
      )}
      <p className="muted small">
        {pattern.pattern === 'vertical_and_slash'
          ? 'Vertical-Slash: the chosen diagonals (slash_size) become the tiles along them; the chosen columns (vertical_size) that no tile covers stay loose columns.'
          : 'The tiles are the key blocks this pattern keeps for the block.'}{' '}
        Grey triangle: keys after a row's own position, read with the diagonal tile and dropped by the causal mask. Veiled: keys the kernel never reads.
      </p>
    </div>
  );
}
