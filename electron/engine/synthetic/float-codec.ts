/**
 * fp32 <-> F16 / BF16 / F32 little-endian bytes, the capture dtypes. Round to nearest even,
 * as PyTorch's casts do, so synthetic captures look like ones written from a real model.
 */
import type { DType } from '../../../contract/api.js';

const scratch = new DataView(new ArrayBuffer(4));

function f32Bits(value: number): number {
  scratch.setFloat32(0, value, true);
  return scratch.getUint32(0, true);
}

function bitsToF32(bits: number): number {
  scratch.setUint32(0, bits >>> 0, true);
  return scratch.getFloat32(0, true);
}

export function toBf16(value: number): number {
  return bf16FromBits(f32Bits(value));
}

/** BF16 bits of the fp32 with these bits. */
function bf16FromBits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40; // NaN stays a (quiet) NaN
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16(half: number): number {
  return bitsToF32(half << 16);
}

export function toF16(value: number): number {
  return f16FromBits(f32Bits(value));
}

/** F16 bits of the fp32 with these bits. */
function f16FromBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow: infinity
  if (e <= 0) {
    if (e < -10) return sign; // underflow: signed zero
    mantissa |= 0x800000; // subnormal: shift the implicit bit in, round to nearest even
    const shift = 14 - e;
    const halfway = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > halfway || (rest === halfway && result & 1)) result++;
    return sign | result;
  }
  const rest = mantissa & 0x1fff;
  let result = (e << 10) | (mantissa >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && result & 1)) result++; // may carry into the exponent: correct
  return sign | result;
}

export function fromF16(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Encode fp32 values as little-endian bytes of `dtype`. */
export function encodeFloats(values: Float32Array, dtype: DType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  // Typed-array views, not a DataView per value: the hosts we build for are little-endian.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  // One loop per dtype, so each conversion is inlined.
  if (dtype === 'BF16') for (let i = 0; i < bits.length; i++) out[i] = bf16FromBits(bits[i]!);
  else for (let i = 0; i < bits.length; i++) out[i] = f16FromBits(bits[i]!);
  return new Uint8Array(out.buffer);
}

/** Decode little-endian bytes of `dtype` to fp32. */
export function decodeFloats(bytes: Uint8Array, dtype: DType): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') {
    const out = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const out = new Float32Array(bytes.byteLength / 2);
  const convert = dtype === 'BF16' ? fromBf16 : fromF16;
  for (let i = 0; i < out.length; i++) out[i] = convert(view.getUint16(2 * i, true));
  return out;
}
