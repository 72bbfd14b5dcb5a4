/**
 * What the rest of the engine sees of a capture (spec section 3.1). Implemented by
 * `capture.ts` over a safetensors file read slice by slice; never holds a whole tensor of a
 * layer unless asked for one layer.
 */
import type { CaptureSummary, DType } from '../../../contract/api.js';

export type TensorKind = 'q' | 'k' | 'v';

/** Element types a capture file may hold: the float dtypes of q/k/v and the integer types of its token tensors. */
export type TensorDType = DType | 'I32' | 'U8';

/** Tokens [start, end) of the prompt: their ids and each one's text. */
export interface TokenRange {
  ids: Int32Array;
  text: string[];
}

export interface Capture {
  readonly summary: CaptureSummary;
  /** Raw bytes of one head, [N, D] in the capture's dtype (head indexes q heads for 'q', kv heads otherwise). */
  readHead(layer: number, kind: TensorKind, head: number): Promise<Uint8Array>;
  /**
   * Raw bytes of heads [start, end) of a layer tensor, [end - start, N, D]: one read, no copy.
   * With `into` (at least that many bytes) they are read into its start and that view returned,
   * so a caller reading batch after batch reuses one buffer instead of waiting on the garbage collector.
   */
  readHeads(layer: number, kind: TensorKind, start: number, end: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Raw bytes of a whole layer tensor, [H or Hkv, N, D]. */
  readLayer(layer: number, kind: TensorKind): Promise<Uint8Array>;
  /** Tokens [start, end) of the prompt; an error when the capture holds no tokens or the range is outside 0..seqLen. */
  readTokens(start: number, end: number): Promise<TokenRange>;
  close(): Promise<void>;
}

/** One tensor to write: its bytes are produced on demand so a writer never holds a whole file. */
export interface TensorSource {
  name: string;
  dtype: TensorDType;
  shape: number[];
  /** Called once, in file order; may return the bytes in several chunks. */
  produce(): AsyncIterable<Uint8Array> | Promise<Uint8Array>;
}

/** `__metadata__` of a capture; all values are strings in safetensors. */
export interface CaptureMetadata {
  format: 'sparsescope.capture/1';
  model: string;
  num_layers: string;
  num_heads: string;
  num_kv_heads: string;
  head_dim: string;
  seq_len: string;
  rope_applied: 'true';
  source: string;
  /** JSON of HeadPattern[][] (layer-major), synthetic captures only. */
  planted?: string;
  /** What produced the token tensors (e.g. the model id), when the capture holds tokens. */
  tokenizer?: string;
}
