/** Number formatting shared by the views, so every number reads the same everywhere. */
import type { PatternName, SpeedupKind } from '../../../contract/api';

export const PATTERN_LABEL: Record<PatternName, string> = {
  vertical_and_slash: 'Vertical-Slash',
  stream_llm: 'A-shape',
  block_sparse: 'Block-Sparse',
  dense: 'Dense',
  xattention: 'XAttention',
  flexprefill: 'FlexPrefill',
};

export const PATTERNS: PatternName[] = ['vertical_and_slash', 'stream_llm', 'block_sparse', 'dense', 'xattention', 'flexprefill'];

const missing = '—';

export const fmtRecall = (value: number | null | undefined) => (value == null ? missing : value.toFixed(4));
export const fmtPercent = (value: number | null | undefined, digits = 1) => (value == null ? missing : `${(value * 100).toFixed(digits)}%`);
export const fmtSpeedup = (value: number | null | undefined) => (value == null ? missing : `${value.toFixed(2)}×`);
/** A speedup with how it was obtained (spec 2.2): "6.80× measured", "≈5.10× predicted". */
export const fmtSpeedupOf = (value: { speedup: number; speedupKind: SpeedupKind } | null | undefined) =>
  value == null ? missing : value.speedupKind === 'measured' ? `${fmtSpeedup(value.speedup)} measured` : `≈${fmtSpeedup(value.speedup)} predicted`;
export const fmtMs = (value: number | null | undefined) => (value == null ? missing : value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(2)} ms`);
export const fmtTokens = (value: number) => (value >= 1024 && value % 1024 === 0 ? `${value / 1024}K` : value.toLocaleString());
export const fmtBytes = (value: number) => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let unit = 0;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${v.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
};
export const fmtEta = (seconds: number | null) => {
  if (seconds == null || !Number.isFinite(seconds)) return 'estimating…';
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s left`;
};

/** "1 head", "32 heads", "1,024 rows": a count with its noun in the right number. */
export const plural = (count: number, singular: string, pluralForm = `${singular}s`) => `${count.toLocaleString()} ${count === 1 ? singular : pluralForm}`;

/** A share of attention mass: "3.4%" down to "0.012%", then "2.1e-7" where percent digits run out. */
export const fmtMass = (value: number) => (value === 0 ? '0' : value >= 1e-5 ? `${+(value * 100).toPrecision(2)}%` : value.toExponential(1));

/** Token text with its invisible characters drawn: line breaks, tabs and other control characters. */
export const tokenGlyphs = (text: string) =>
  text.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '⏎' : c === '\t' ? '⇥' : c === '\u007f' ? '␡' : String.fromCharCode(0x2400 + c.charCodeAt(0))));

/** One token on its own, spaces shown too, so " " and "" read apart. */
export const tokenLabel = (text: string) => (text === '' ? '(empty)' : tokenGlyphs(text).replace(/ /g, '␣'));
