/**
 * Kernel view: what the sparse kernel reads for one 64-row query block of the focused head, drawn
 * over that block's rows of the map and listed under MInference's names (block_count,
 * block_offset, column_count, column_index). Click the small map, or step, to pick the block.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { KERNEL_BLOCK, type HeadPattern, type KernelBlocks } from '../../../contract/api';
import { themeLut } from '../charts/colormap';
import { drawPlaced, renderMask, renderPooledMap } from '../charts/heatmap';
import { blockAtPixel } from '../charts/kernel';
import { describePattern, entryAt } from '../state/config';
import { useApi, useApp } from '../state/context';
import { errorMessage } from '../state/store';
import { PatternSwatch } from './common';
import { PATTERN_LABEL } from './format';
import { HeadPicker } from './HeadPicker';
import { KernelBand } from './KernelBand';
import { KernelLists } from './KernelLists';
import { cssColour, cssVar, useResolvedTheme } from './theme';

const PICKER_SIZE = 240;
/** Keys the lower band shows, up to the diagonal, so single tiles and the causal cut are wide. */
const ZOOM_KEYS = 256;

/** The whole map, small, with the chosen block's rows outlined; a click picks the block under it. */
function BlockPickerMap({ pattern, block, onPick }: { pattern: HeadPattern; block: number; onPick: (block: number) => void }) {
  const api = useApi();
  const capture = useApp((s) => s.capture)!;
  const focus = useApp((s) => s.focus);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [images, setImages] = useState<{ map: ReturnType<typeof renderPooledMap>; mask: ReturnType<typeof renderMask> } | null>(null);
  const patternKey = `${pattern.pattern}:${pattern.a}:${pattern.b}`;

  useEffect(() => {
    let current = true;
    const head = { captureId: capture.captureId, layer: focus.layer, head: focus.head };
    Promise.all([api.call('head.pooledMap', { ...head, resolution: 256 }), api.call('head.mask', { ...head, pattern, resolution: 256 })])
      .then(([map, mask]) => {
        if (!current) return;
        setImages({ map: renderPooledMap(map, themeLut(theme), { scale: 'log', empty: cssColour('--heat-empty') }), mask: renderMask(mask, cssColour('--mask-veil', theme === 'dark' ? 175 : 200)) });
      })
      .catch(() => current && setImages(null));
    return () => {
      current = false;
    };
  }, [api, capture.captureId, focus.layer, focus.head, patternKey, theme]);

  useEffect(() => {
    const context = canvasRef.current?.getContext('2d');
    if (!context || !images) return;
    const dpr = window.devicePixelRatio || 1;
    context.setTransform(dpr, 0, 0, dpr, 0, 0);
    const view = { seqLen: capture.seqLen, size: PICKER_SIZE, transform: { k: 1, x: 0, y: 0 } };
    drawPlaced(context, view, images.map);
    drawPlaced(context, view, images.mask);
    const y = (block * KERNEL_BLOCK * PICKER_SIZE) / capture.seqLen;
    const h = Math.max(3, (KERNEL_BLOCK * PICKER_SIZE) / capture.seqLen);
    context.strokeStyle = cssVar('--accent');
    context.lineWidth = 2;
    context.strokeRect(1, y - 1, PICKER_SIZE - 2, h + 2);
  }, [images, block, capture.seqLen]);

  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  return (
    <canvas
      ref={canvasRef}
      className="kernel-picker"
      width={PICKER_SIZE * dpr}
      height={PICKER_SIZE * dpr}
      style={{ width: PICKER_SIZE, height: PICKER_SIZE }}
      title="Click a row to see the kernel's reads for its query block"
      aria-label="Whole map of the head: click to pick a query block"
      data-testid="kernel-picker"
      onClick={(event) => onPick(blockAtPixel(event.nativeEvent.offsetY, PICKER_SIZE, capture.seqLen))}
    />
  );
}

export function KernelView() {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const focus = useApp((s) => s.focus);
  const numBlocks = capture ? Math.ceil(capture.seqLen / KERNEL_BLOCK) : 0;
  // The last block by default: every key before it is causal, so it shows the whole pattern.
  const block = useApp((s) => s.kernelBlock);
  const setBlock = useApp((s) => s.showKernelBlock);
  const [result, setResult] = useState<{ blocks: KernelBlocks | null; error: string | null }>({ blocks: null, error: null });
  const entry = config ? entryAt(config, focus.layer, focus.head) : null;
  const pattern = useMemo(() => (entry ? { pattern: entry.pattern, a: entry.a, b: entry.b } : null), [entry?.pattern, entry?.a, entry?.b]);
  const lastQ = config?.runtime?.sparseAttentionLastQ;
  const chosen = Math.max(0, Math.min(block ?? numBlocks - 1, numBlocks - 1));

  useEffect(() => {
    if (!capture || !pattern) return;
    let current = true;
    api
      .call('head.kernelBlocks', { captureId: capture.captureId, layer: focus.layer, head: focus.head, pattern, queryBlock: chosen, ...(lastQ ? { lastQ } : {}) })
      .then((blocks) => current && setResult({ blocks, error: null }))
      .catch((error: unknown) => current && setResult({ blocks: null, error: errorMessage(error) }));
    return () => {
      current = false;
    };
  }, [api, capture, focus.layer, focus.head, pattern, chosen, lastQ]);

  if (!capture || !pattern) return <div className="empty">No capture open.</div>;
  const blocks = result.blocks?.queryBlock === chosen ? result.blocks : null;
  return (
    <div className="kernel-view">
      <section className="panel kernel-main">
        <header className="panel-head">
          <HeadPicker />
          <div className="controls">
            <label title="Query block: 64 rows the kernel computes together">
              Query block
              <button type="button" onClick={() => setBlock(chosen - 1)} disabled={chosen === 0} aria-label="Previous query block">
                ‹
              </button>
              <input type="number" min={0} max={numBlocks - 1} value={chosen} onChange={(e) => setBlock(Number(e.target.value))} data-testid="query-block" />
              <button type="button" onClick={() => setBlock(chosen + 1)} disabled={chosen === numBlocks - 1} aria-label="Next query block">
                ›
              </button>
              <span className="muted">of {numBlocks}</span>
            </label>
          </div>
        </header>
        <div className="kernel-body">
          <div className="kernel-side-map">
            <BlockPickerMap pattern={pattern} block={chosen} onPick={setBlock} />
            <p className="muted small">
              <PatternSwatch pattern={pattern.pattern} /> {PATTERN_LABEL[pattern.pattern]} · {describePattern(pattern)}
            </p>
          </div>
          {result.error && <p className="error-text">{result.error}</p>}
          {blocks && (
            <div className="kernel-bands">
              <KernelBand blocks={blocks} keyStart={0} keyEnd={blocks.rowEnd} title="Every key the block may see" />
              {blocks.rowEnd > ZOOM_KEYS && <KernelBand blocks={blocks} keyStart={blocks.rowEnd - ZOOM_KEYS} keyEnd={blocks.rowEnd} title={`The last ${ZOOM_KEYS} keys, up to the diagonal`} />}
            </div>
          )}
        </div>
        <ul className="legend kernel-legend">
          <li>
            <span className="swatch kernel-tile-swatch" aria-hidden="true" /> 64-wide key tile (block_offset)
          </li>
          <li>
            <span className="swatch kernel-column-swatch" aria-hidden="true" /> loose column (column_index)
          </li>
          <li>
            <span className="swatch kernel-causal-swatch" aria-hidden="true" /> read, dropped by the causal mask (or an A-shape's window)
          </li>
          <li>
            <span className="swatch kernel-veil-swatch" aria-hidden="true" /> not read
          </li>
        </ul>
      </section>
      <aside className="panel side-panel">{blocks ? <KernelLists blocks={blocks} pattern={pattern} /> : <p className="muted">Reading the block's index…</p>}</aside>
    </div>
  );
}
