/**
 * Relative-position logit profiles of the synthetic capture's positional pairs: a local window and
 * slash lines as peaks summed over the pairs, calibrated so each slash carries its share of a row.
 */
import { ROPE_THETA, type Geometry } from './rotary.js';

/** Tokens per attention block (MInference's 64): slash masses are calibrated over one block either side. */
export const BLOCK = 64;

/** Pairs per e-fold of frequency: the power-law exponent of a window is amplitude x this. */
function pairsPerEfold(geometry: Geometry): number {
  return geometry.headDim / (2 * Math.log(ROPE_THETA));
}

/**
 * Relative-position logit profile f(d), d = 0..N-1, of positional coefficients (a, b) per pair
 * (before the KV pair angle): f(d) = sum_k a_k cos(w_k d) - b_k sin(w_k d). Rotation recurrence.
 */
function positionalProfile(geometry: Geometry, coefficients: Float64Array): Float64Array {
  const profile = new Float64Array(geometry.seqLen);
  for (let k = 0; k < geometry.positionalPairs; k++) {
    const a = coefficients[2 * k]!;
    const b = coefficients[2 * k + 1]!;
    const stepCos = Math.cos(geometry.freqs[k]!);
    const stepSin = Math.sin(geometry.freqs[k]!);
    let c = 1;
    let s = 0;
    for (let d = 0; d < geometry.seqLen; d++) {
      profile[d]! += a * c - b * s;
      const nextC = c * stepCos - s * stepSin;
      s = s * stepCos + c * stepSin;
      c = nextC;
    }
  }
  return profile;
}

/** Coefficients of peaks (offset, amplitude) summed over the positional pairs. */
function peakCoefficients(geometry: Geometry, peaks: readonly { offset: number; amplitude: number }[]): Float64Array {
  const coefficients = new Float64Array(2 * geometry.positionalPairs);
  for (let k = 0; k < geometry.positionalPairs; k++) {
    for (const { offset, amplitude } of peaks) {
      coefficients[2 * k]! += amplitude * Math.cos(geometry.freqs[k]! * offset);
      coefficients[2 * k + 1]! -= amplitude * Math.sin(geometry.freqs[k]! * offset);
    }
  }
  return coefficients;
}

/** Sum of exp(f(d) - shift) for |d - center| <= radius. */
function massNear(profile: Float64Array, shift: number, center: number, radius: number): number {
  let mass = 0;
  const end = Math.min(profile.length, center + radius + 1);
  for (let d = Math.max(0, center - radius); d < end; d++) mass += Math.exp(profile[d]! - shift);
  return mass;
}

export interface PositionalDesign {
  coefficients: Float64Array;
  /** Total exp-mass of the profile over the last row, relative to exp(shift). */
  mass: number;
  shift: number;
}

/**
 * A local window of power-law exponent `windowExponent` plus slash lines at `slashOffsets`, each
 * slash carrying `slashShare / count` of the positional mass (two calibration passes).
 */
export function designPositional(geometry: Geometry, windowExponent: number, slashOffsets: readonly number[], slashShare: number): PositionalDesign {
  const windowAmplitude = windowExponent / pairsPerEfold(geometry);
  const peaks = [{ offset: 0, amplitude: windowAmplitude }, ...slashOffsets.map((offset) => ({ offset, amplitude: windowAmplitude }))];
  const peakHeight = geometry.positionalPairs; // d(logit at a peak) / d(amplitude)
  let profile = positionalProfile(geometry, peakCoefficients(geometry, peaks));
  for (let pass = 0; pass < 2 && slashOffsets.length > 0; pass++) {
    const shift = profile[0]!;
    const total = massNear(profile, shift, 0, profile.length);
    for (let m = 1; m < peaks.length; m++) {
      const current = massNear(profile, shift, peaks[m]!.offset, BLOCK) / total;
      const wanted = slashShare / slashOffsets.length;
      peaks[m]!.amplitude += Math.log(wanted / Math.max(current, 1e-12)) / peakHeight;
    }
    profile = positionalProfile(geometry, peakCoefficients(geometry, peaks));
  }
  const shift = profile[0]!;
  return { coefficients: peakCoefficients(geometry, peaks), mass: massNear(profile, shift, 0, profile.length), shift };
}

/** Logit giving `count` equal keys `share` of a row whose other mass is exp(shift) * rest. */
export function logitForShare(share: number, count: number, restShare: number, design: PositionalDesign): number {
  return design.shift + Math.log(design.mass) + Math.log(share / restShare / count);
}

export function turnByPairAngle(coefficients: Float64Array, pairAngle: Float64Array): Float64Array {
  const turned = new Float64Array(coefficients.length);
  for (let k = 0; k < pairAngle.length; k++) {
    const c = Math.cos(pairAngle[k]!);
    const s = Math.sin(pairAngle[k]!);
    const a = coefficients[2 * k]!;
    const b = coefficients[2 * k + 1]!;
    turned[2 * k] = a * c - b * s;
    turned[2 * k + 1] = a * s + b * c;
  }
  return turned;
}
