/**
 * The hover readout of a head's map: query row and key column (with their token text when the
 * capture holds tokens), the cell's attention mass, whether the pattern computes it, and the
 * chosen column or diagonal under the pointer.
 */
import { useEffect, useReducer } from 'react';
import { lutColour, rampPosition, type ColourDomain } from '../charts/colormap';
import type { Readout } from '../charts/readout';
import { tokenContext, type TokenText } from '../state/tokens';
import { fmtMass, fmtPercent, plural, tokenGlyphs, tokenLabel } from './format';

/** Tokens read on each side of the pointed one, so a byte or word piece reads in its context... */
const CONTEXT = 16;
/** ...cut to this many characters a side, whatever the tokenizer's piece length. */
const CONTEXT_CHARS = 22;

function TokenLine({ label, position, tokens, seqLen }: { label: string; position: number; tokens: TokenText | null; seqLen: number }) {
  const context = tokens ? tokenContext(tokens, position, seqLen, CONTEXT) : null;
  return (
    <div className="readout-token">
      <span className="readout-key">{label}</span> <strong>{position.toLocaleString()}</strong>
      {context && (
        <>
          {' '}
          <code className="token">{tokenLabel(context.token)}</code>
          <div className="token-context">
            <span>{tokenGlyphs(context.before.join('')).slice(-CONTEXT_CHARS)}</span>
            <mark>{tokenGlyphs(context.token)}</mark>
            <span>{tokenGlyphs(context.after.join('')).slice(0, CONTEXT_CHARS)}</span>
          </div>
        </>
      )}
      {tokens && !context && <span className="muted">{tokens.error ? ` · tokens: ${tokens.error}` : ' · reading tokens…'}</span>}
    </div>
  );
}

function span(start: number, end: number): string {
  return end - start <= 1 ? start.toLocaleString() : `${start.toLocaleString()}–${(end - 1).toLocaleString()}`;
}

function computedLine(readout: Readout): { text: string; className: string } | null {
  if (readout.future) return { text: 'above the diagonal: a query never attends to later keys', className: 'muted' };
  if (readout.coverage === null) return null;
  if (readout.coverage >= 0.999) return { text: 'computed by the pattern', className: 'readout-computed' };
  if (readout.coverage <= 0.001) return { text: 'skipped by the pattern: this mass is lost', className: 'readout-skipped' };
  return { text: `${fmtPercent(readout.coverage, 0)} of the cell computed`, className: 'readout-partial' };
}

export interface HeatmapReadoutProps {
  readout: Readout;
  tokens: TokenText | null;
  seqLen: number;
  lut: Uint8ClampedArray;
  domain: ColourDomain | null;
  /** Where to put the box in the canvas, away from the pointer. */
  position: { left?: number; right?: number; top?: number; bottom?: number };
}

export function HeatmapReadout({ readout, tokens, seqLen, lut, domain, position }: HeatmapReadoutProps) {
  const [, tokensArrived] = useReducer((n: number) => n + 1, 0);
  useEffect(() => tokens?.subscribe(tokensArrived), [tokens]);
  useEffect(() => {
    tokens?.request(readout.row - CONTEXT, readout.row + CONTEXT + 1);
    tokens?.request(readout.col - CONTEXT, readout.col + CONTEXT + 1);
  }, [tokens, readout.row, readout.col]);

  const { cell } = readout;
  const computed = computedLine(readout);
  const multiToken = cell.rowEnd - cell.rowStart > 1 || cell.colEnd - cell.colStart > 1;
  return (
    <div className="readout" style={position} role="status" data-testid="heatmap-readout">
      <TokenLine label="query" position={readout.row} tokens={tokens} seqLen={seqLen} />
      <TokenLine label="key" position={readout.col} tokens={tokens} seqLen={seqLen} />
      {!readout.future && (
        <div>
          {domain && readout.mass > 0 && <span className="swatch" style={{ background: lutColour(lut, rampPosition(readout.mass, domain)) }} />} attention mass{' '}
          <strong>{fmtMass(readout.mass)}</strong> of each query's attention
          {multiToken ? `, peak weight ${fmtMass(readout.peak)}` : ''}
        </div>
      )}
      {multiToken && (
        <div className="muted">
          cell: queries {span(cell.rowStart, cell.rowEnd)} × keys {span(cell.colStart, cell.colEnd)}
        </div>
      )}
      {computed && <div className={computed.className}>{computed.text}</div>}
      {readout.vertical !== null && (
        <div className="readout-vertical">
          chosen vertical column: key {readout.vertical.toLocaleString()}
          {tokens?.at(readout.vertical) !== undefined && <code className="token">{tokenLabel(tokens.at(readout.vertical)!)}</code>}
        </div>
      )}
      {readout.slash !== null && <div className="readout-slash">chosen diagonal: offset {readout.slash.toLocaleString()} (each query reads the key {plural(readout.slash, 'token')} back)</div>}
    </div>
  );
}
