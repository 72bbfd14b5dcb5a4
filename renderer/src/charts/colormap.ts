/**
 * The app's one colour module: lookup tables, the value-to-colour mapping of pooled attention maps
 * (shared by the canvas, its colour bar and its readout), the overview's measure ramp and the
 * recall colours. Pure functions over typed arrays, so the hot path (a 1024² map) is one pass with
 * no allocation per cell.
 */
import { interpolateInferno, interpolateMagma, interpolateViridis, rgb, scaleLinear } from 'd3';

export type ColourScale = 'linear' | 'log';
export type Rgba = readonly [number, number, number, number];

export const LUT_SIZE = 256;

/** 256 RGBA entries sampled from a d3 interpolator. */
export function buildLut(interpolate: (t: number) => string): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(LUT_SIZE * 4);
  for (let i = 0; i < LUT_SIZE; i++) {
    const colour = rgb(interpolate(i / (LUT_SIZE - 1)));
    lut.set([colour.r, colour.g, colour.b, 255], i * 4);
  }
  return lut;
}

/** Dark theme: inferno (dark background, bright mass). Light theme: magma reversed (pale background). */
export function themeLut(theme: 'light' | 'dark'): Uint8ClampedArray {
  return theme === 'dark' ? buildLut(interpolateInferno) : buildLut((t) => interpolateMagma(1 - t * 0.92));
}

export interface MapOptions {
  scale: ColourScale;
  /** Decades shown by the log scale below the brightest cell. */
  decades?: number;
  /** Colour of cells with no mass at all (outside the causal triangle). */
  empty: Rgba;
}

export const DEFAULT_DECADES = 5;

/** What a map's colours mean: the value of the top colour and how values spread below it. */
export interface ColourDomain {
  scale: ColourScale;
  vmax: number;
  decades: number;
}

/** Where a positive value sits on the colour ramp, 0 (bottom) to 1 (top), clamped. */
export function rampPosition(value: number, domain: ColourDomain): number {
  const t = domain.scale === 'linear' ? value / domain.vmax : 1 + (Math.log10(value) - Math.log10(domain.vmax || 1)) / domain.decades;
  return Math.max(0, Math.min(1, t));
}

/** Values to label on a colour bar: rounded linear steps from 0, or one per decade of the log scale. */
export function colourBarTicks(domain: ColourDomain, count = 5): number[] {
  if (!(domain.vmax > 0)) return [];
  if (domain.scale === 'linear') return scaleLinear().domain([0, domain.vmax]).ticks(count).filter((v) => v <= domain.vmax);
  const top = Math.floor(Math.log10(domain.vmax));
  const bottom = Math.log10(domain.vmax) - domain.decades;
  const ticks: number[] = [];
  for (let exponent = top; exponent >= bottom - 1e-9; exponent--) ticks.push(10 ** exponent);
  return ticks.reverse();
}

/** A table entry as a CSS colour, for legends drawn outside the canvas. */
export function lutColour(lut: Uint8ClampedArray, t: number): string {
  const i = Math.round(Math.max(0, Math.min(1, t)) * (LUT_SIZE - 1)) * 4;
  return `rgb(${lut[i]}, ${lut[i + 1]}, ${lut[i + 2]})`;
}

/** The overview's measure ramp: viridis, apart from the maps' inferno/magma and the pattern hues, readable on both themes. */
export const measureLut: () => Uint8ClampedArray = (() => {
  let lut: Uint8ClampedArray | null = null;
  return () => (lut ??= buildLut(interpolateViridis));
})();

export function maxOf(values: Float32Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max;
}

/** Map values to RGBA pixels through the LUT; returns the pixels and the value of the top colour. */
export function valuesToPixels(values: Float32Array, lut: Uint8ClampedArray, options: MapOptions): { pixels: Uint8ClampedArray; vmax: number } {
  const pixels = new Uint8ClampedArray(values.length * 4);
  const vmax = maxOf(values);
  const top = LUT_SIZE - 1;
  const domain: ColourDomain = { scale: options.scale, vmax, decades: options.decades ?? DEFAULT_DECADES };
  const [er, eg, eb, ea] = options.empty;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const p = i * 4;
    if (!(v > 0)) {
      pixels[p] = er;
      pixels[p + 1] = eg;
      pixels[p + 2] = eb;
      pixels[p + 3] = ea;
      continue;
    }
    const index = (rampPosition(v, domain) * top + 0.5) | 0;
    const l = index * 4;
    pixels[p] = lut[l]!;
    pixels[p + 1] = lut[l + 1]!;
    pixels[p + 2] = lut[l + 2]!;
    pixels[p + 3] = 255;
  }
  return { pixels, vmax };
}

/** Veil over cells the pattern skips: alpha grows with the uncomputed fraction of the cell. */
export function coverageToPixels(coverage: Float32Array, causal: (index: number) => boolean, veil: Rgba): Uint8ClampedArray {
  const pixels = new Uint8ClampedArray(coverage.length * 4);
  const [r, g, b, a] = veil;
  for (let i = 0; i < coverage.length; i++) {
    if (!causal(i)) continue;
    const missing = 1 - Math.max(0, Math.min(1, coverage[i]!));
    const p = i * 4;
    pixels[p] = r;
    pixels[p + 1] = g;
    pixels[p + 2] = b;
    pixels[p + 3] = Math.round(a * missing);
  }
  return pixels;
}

/** Green for full recall down to red at `floor` and below, for the per-row strip and tables. */
export function recallColour(recall: number, floor = 0.5): string {
  const t = Math.max(0, Math.min(1, (recall - floor) / (1 - floor)));
  const hue = 10 + t * 120;
  return `hsl(${hue.toFixed(0)} 70% 45%)`;
}

/**
 * Where two masks differ, cell by cell: `onlyA` where A computes more of the cell than B, `onlyB`
 * where B does, opaque in proportion to the difference; clear where they agree.
 */
export function coverageDiffToPixels(a: Float32Array, b: Float32Array, colours: { onlyA: Rgba; onlyB: Rgba }): Uint8ClampedArray {
  const pixels = new Uint8ClampedArray(a.length * 4);
  for (let i = 0; i < a.length; i++) {
    const difference = (b[i] ?? 0) - (a[i] ?? 0);
    if (Math.abs(difference) < 1e-6) continue;
    const [r, g, bl] = difference > 0 ? colours.onlyB : colours.onlyA;
    const p = i * 4;
    pixels[p] = r;
    pixels[p + 1] = g;
    pixels[p + 2] = bl;
    pixels[p + 3] = Math.round(90 + 165 * Math.min(1, Math.abs(difference)));
  }
  return pixels;
}

/** Near-black or white, whichever reads on table entry `t` (text over a coloured cell). */
export function textColourOn(lut: Uint8ClampedArray, t: number): string {
  const i = Math.round(Math.max(0, Math.min(1, t)) * (LUT_SIZE - 1)) * 4;
  const luma = 0.2126 * lut[i]! + 0.7152 * lut[i + 1]! + 0.0722 * lut[i + 2]!;
  return luma > 140 ? '#111' : '#fff';
}
