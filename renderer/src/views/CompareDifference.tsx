/**
 * The Compare view's difference: the numbers of A, B and B − A, and a map of the entries only one
 * of the two patterns computes, over the faded attention.
 */
import { useEffect, useRef, useState } from 'react';
import type { HeadPattern, HeadStats } from '../../../contract/api';
import { coverageDiffToPixels, themeLut } from '../charts/colormap';
import { drawPlaced, imageFromPixels, renderPooledMap } from '../charts/heatmap';
import { samePattern } from '../state/config';
import { useApi, useApp } from '../state/context';
import { fmtPercent } from './format';
import { cssColour, useResolvedTheme } from './theme';

const DIFF_GRID = 128;
const DIFF_SIZE = 300;

/** The entries only A computes and only B computes, over the faded map. */
function DifferenceMap({ a, b }: { a: HeadPattern; b: HeadPattern }) {
  const api = useApi();
  const capture = useApp((s) => s.capture)!;
  const focus = useApp((s) => s.focus);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [drawn, setDrawn] = useState(false);
  const [shares, setShares] = useState<{ onlyA: number; onlyB: number } | null>(null);
  const keyA = `${a.pattern}:${a.a}:${a.b}`;
  const keyB = `${b.pattern}:${b.a}:${b.b}`;

  useEffect(() => {
    let current = true;
    setDrawn(false);
    const head = { captureId: capture.captureId, layer: focus.layer, head: focus.head, resolution: DIFF_GRID };
    Promise.all([api.call('head.pooledMap', head), api.call('head.mask', { ...head, pattern: a }), api.call('head.mask', { ...head, pattern: b })])
      .then(([map, maskA, maskB]) => {
        const context = canvasRef.current?.getContext('2d');
        if (!current) return;
        // Shares of the causal cells' coverage that only one side computes (grid cells weigh alike).
        let onlyA = 0;
        let onlyB = 0;
        let causal = 0;
        for (let i = 0; i < maskA.coverage.length; i++) {
          if (Math.floor(i / maskA.cols) < i % maskA.cols) continue;
          causal++;
          const d = maskB.coverage[i]! - maskA.coverage[i]!;
          if (d > 0) onlyB += d;
          else onlyA -= d;
        }
        setShares({ onlyA: onlyA / Math.max(1, causal), onlyB: onlyB / Math.max(1, causal) });
        if (context) {
          const dpr = window.devicePixelRatio || 1;
          context.setTransform(dpr, 0, 0, dpr, 0, 0);
          context.fillStyle = `rgb(${cssColour('--heat-empty').slice(0, 3).join(' ')})`;
          context.fillRect(0, 0, DIFF_SIZE, DIFF_SIZE);
          const view = { seqLen: capture.seqLen, size: DIFF_SIZE, transform: { k: 1, x: 0, y: 0 } };
          context.globalAlpha = 0.3;
          drawPlaced(context, view, renderPooledMap(map, themeLut(theme), { scale: 'log', empty: cssColour('--heat-empty') }));
          context.globalAlpha = 1;
          const pixels = coverageDiffToPixels(maskA.coverage, maskB.coverage, { onlyA: cssColour('--only-a'), onlyB: cssColour('--only-b') });
          drawPlaced(context, view, { region: maskA.region, image: imageFromPixels(pixels, maskA.cols, maskA.rows) });
        }
        setDrawn(true);
      })
      .catch(() => current && setDrawn(true));
    return () => {
      current = false;
    };
  }, [api, capture.captureId, capture.seqLen, focus.layer, focus.head, keyA, keyB, theme]);

  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  return (
    <div className="compare-diff-map">
      <canvas ref={canvasRef} width={DIFF_SIZE * dpr} height={DIFF_SIZE * dpr} style={{ width: DIFF_SIZE, height: DIFF_SIZE }} data-testid="compare-diff-map" data-ready={drawn ? 'true' : 'false'} aria-label="Entries only A or only B computes" />
      <ul className="legend">
        <li>
          <span className="swatch only-a-swatch" aria-hidden="true" /> only A computes{shares ? ` (${fmtPercent(shares.onlyA)} of the causal map)` : ''}
        </li>
        <li>
          <span className="swatch only-b-swatch" aria-hidden="true" /> only B computes{shares ? ` (${fmtPercent(shares.onlyB)})` : ''}
        </li>
      </ul>
    </div>
  );
}

const signed = (value: number, format: (v: number) => string) => (value > 0 ? `+${format(value)}` : value < 0 ? `−${format(-value)}` : format(0));

export function DifferencePanel({ a, b, statsA, statsB }: { a: HeadPattern | null; b: HeadPattern | null; statsA: HeadStats | undefined; statsB: HeadStats | undefined }) {
  const rows: { label: string; of: (s: HeadStats) => number; format: (v: number) => string }[] = [
    { label: 'recall', of: (s) => s.recall, format: (v) => v.toFixed(4) },
    { label: 'density', of: (s) => s.density, format: (v) => fmtPercent(v) },
    { label: 'predicted speedup', of: (s) => s.speedup, format: (v) => `${v.toFixed(2)}×` },
    { label: 'output error', of: (s) => s.outputRelError, format: (v) => fmtPercent(v, 2) },
  ];
  return (
    <section className="panel compare-difference" data-testid="compare-difference">
      <h2>Difference</h2>
      {a && b && samePattern(a, b) && <p className="muted">A and B give this head the same pattern.</p>}
      <table className="compare-numbers">
        <thead>
          <tr>
            <th />
            <th className="num">A</th>
            <th className="num">B</th>
            <th className="num">B − A</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ label, of, format }) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td className="num">{statsA ? format(of(statsA)) : '—'}</td>
              <td className="num">{statsB ? format(of(statsB)) : '—'}</td>
              <td className="num">{statsA && statsB ? signed(of(statsB) - of(statsA), format) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Measured on the same sampled rows; speedups are predicted from each pattern's density by the backend's cost model.</p>
      {a && b && <DifferenceMap a={a} b={b} />}
    </section>
  );
}
