/**
 * Kernel view: what the sparse kernel reads for one 64-row query block of the focused head, drawn
 * over that block's rows of the map and listed under MInference's names (block_count,
 * block_offset, column_count, column_index). Click the small map, or step, to pick the block.
 */
import { axisBottom, scaleLinear } from 'd3';
import { useEffect, useMemo, useRef, useState } from 'react';
import { KERNEL_BLOCK, type HeadPattern, type KernelBlocks, type Region } from '../../../contract/api';
import { themeLut } from '../charts/colormap';
import { drawPlaced, renderMask, renderPooledMap } from '../charts/heatmap';
import { blockAtPixel, drawKernelBand } from '../charts/kernel';
import { describePattern, entryAt } from '../state/config';
import { useApi, useApp } from '../state/context';
import { errorMessage } from '../state/store';
import { Axis, PatternSwatch } from './common';
import { fmtPercent, PATTERN_LABEL } from './format';
import { HeadPicker } from './HeadPicker';
import { cssColour, cssVar, useResolvedTheme } from './theme';

const PICKER_SIZE = 240;
const BAND_HEIGHT = 200;
const AXIS_HEIGHT = 26;
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

/** The block's rows across keys [keyStart, keyEnd), with its tiles and loose columns over the pooled attention. */
function KernelBand({ blocks, keyStart, keyEnd, title }: { blocks: KernelBlocks; keyStart: number; keyEnd: number; title: string }) {
  const api = useApi();
  const capture = useApp((s) => s.capture)!;
  const focus = useApp((s) => s.focus);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const boxRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  // What the canvas shows, as the key of the inputs it was drawn from: a resize clears the canvas
  // before the effect redraws it, so readiness must name the drawing, not just follow a flag.
  const [drawnKey, setDrawnKey] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const drawKey = [capture.captureId, focus.layer, focus.head, blocks.queryBlock, blocks.rowStart, keyStart, keyEnd, width, theme].join(':');

  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const observer = new ResizeObserver(([entry]) => entry && setWidth(Math.max(200, Math.floor(entry.contentRect.width))));
    observer.observe(box);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (width === 0) return;
    let current = true;
    setFailure(null);
    const region: Region = { rowStart: blocks.rowStart, rowEnd: blocks.rowEnd, colStart: keyStart, colEnd: keyEnd };
    api
      .call('head.pooledMap', { captureId: capture.captureId, layer: focus.layer, head: focus.head, region, resolution: Math.max(8, Math.min(1024, keyEnd - keyStart)), sampling: { mode: 'exact' } })
      .then((map) => {
        const context = canvasRef.current?.getContext('2d');
        if (!current) return;
        if (context) {
          const dpr = window.devicePixelRatio || 1;
          context.setTransform(dpr, 0, 0, dpr, 0, 0);
          const image = renderPooledMap(map, themeLut(theme), { scale: 'log', empty: cssColour('--heat-empty') });
          context.imageSmoothingEnabled = false;
          context.drawImage(image.image, 0, 0, width, BAND_HEIGHT);
          const veil = cssColour('--mask-veil', theme === 'dark' ? 190 : 215);
          drawKernelBand(context, { keyStart, keyEnd, width, height: BAND_HEIGHT }, blocks, {
            veil: `rgb(${veil[0]} ${veil[1]} ${veil[2]} / ${(veil[3] / 255).toFixed(2)})`,
            tile: cssVar('--kernel-tile'),
            label: cssVar('--accent-text'),
            column: cssVar('--kernel-column'),
            causal: cssVar('--kernel-causal'),
          });
        }
        setDrawnKey(drawKey);
      })
      .catch((error: unknown) => {
        if (!current) return;
        setFailure(errorMessage(error));
      });
    return () => {
      current = false;
    };
  }, [api, capture.captureId, focus.layer, focus.head, blocks, keyStart, keyEnd, width, theme, drawKey]);

  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  const axis = useMemo(() => axisBottom(scaleLinear().domain([keyStart, keyEnd]).range([0, width])).ticks(Math.max(3, Math.floor(width / 90))), [keyStart, keyEnd, width]);
  return (
    <div className="kernel-band-box" ref={boxRef}>
      <div className="kernel-band-title">
        <strong>{title}</strong>
        <span className="muted small">
          {' '}
          · query rows {blocks.rowStart.toLocaleString()}–{(blocks.rowEnd - 1).toLocaleString()} ↓ · keys {keyStart.toLocaleString()}–{(keyEnd - 1).toLocaleString()} →
        </span>
      </div>
      <canvas
        ref={canvasRef}
        className="kernel-band"
        width={Math.round(width * dpr)}
        height={Math.round(BAND_HEIGHT * dpr)}
        style={{ width, height: BAND_HEIGHT }}
        data-testid="kernel-band"
        data-block={blocks.queryBlock}
        data-ready={drawnKey === drawKey ? 'true' : failure ? 'error' : 'false'}
        aria-label={`Keys ${keyStart}–${keyEnd} read by query block ${blocks.queryBlock}: ${blocks.blockCount} tiles and ${blocks.columnCount} loose columns`}
      />
      {failure && (
        <div className="error-text small" role="alert" data-testid="kernel-band-error">
          Could not draw the attention under this block: {failure}
        </div>
      )}
      <svg width={width} height={AXIS_HEIGHT} aria-hidden="true">
        <Axis axis={axis} />
      </svg>
    </div>
  );
}

/** A long index list, shortened: the first entries, then how many more. */
function IndexList({ values, testId }: { values: number[]; testId: string }) {
  const shown = values.slice(0, 48);
  return (
    <div className="index-list" data-testid={testId}>
      {values.length === 0 ? <span className="muted">[ ] (none)</span> : `[${shown.join(', ')}${values.length > shown.length ? `, … +${values.length - shown.length} more` : ''}]`}
    </div>
  );
}

function KernelLists({ blocks, pattern }: { blocks: KernelBlocks; pattern: HeadPattern }) {
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
