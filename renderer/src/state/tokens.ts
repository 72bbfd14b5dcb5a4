/**
 * A capture's token text, read lazily around what the user points at: blocks of TOKEN_BLOCK
 * positions fetched once through `capture.tokens` and kept, the least recently fetched dropped
 * past MAX_BLOCKS. Never the whole prompt: at 1M tokens that would be megabytes per hover.
 */
import type { Api } from '../../../contract/api';

export const TOKEN_BLOCK = 256;
/** 64K tokens of text at most: far more than a pointer visits, bounded at any length. */
export const MAX_BLOCKS = 256;

type Block = { state: 'loading' } | { state: 'ready'; text: string[] } | { state: 'failed' };

export class TokenText {
  private readonly blocks = new Map<number, Block>();
  private readonly listeners = new Set<() => void>();
  /** Why token text could not be read, once a block failed (the capture's tokens are damaged, say). */
  error: string | null = null;

  constructor(
    private readonly api: Pick<Api, 'call'>,
    private readonly captureId: string,
    private readonly seqLen: number,
  ) {}

  /** The text of position `i`, or undefined until its block has arrived (or when it failed). */
  at(i: number): string | undefined {
    const block = this.blocks.get(Math.floor(i / TOKEN_BLOCK));
    return block?.state === 'ready' ? block.text[i % TOKEN_BLOCK] : undefined;
  }

  /** Fetch the blocks covering [start, end) that are neither here nor on their way; listeners hear when they land. */
  request(start: number, end: number): void {
    const first = Math.floor(Math.max(0, start) / TOKEN_BLOCK);
    const last = Math.floor((Math.min(this.seqLen, end) - 1) / TOKEN_BLOCK);
    for (let block = first; block <= last; block++) {
      if (!this.blocks.has(block)) this.fetch(block);
    }
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private fetch(block: number): void {
    this.blocks.set(block, { state: 'loading' });
    if (this.blocks.size > MAX_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    const start = block * TOKEN_BLOCK;
    const end = Math.min(this.seqLen, start + TOKEN_BLOCK);
    this.api.call('capture.tokens', { captureId: this.captureId, start, end }).then(
      ({ text }) => this.settle(block, { state: 'ready', text }),
      (error: unknown) => {
        this.error = error instanceof Error ? error.message : String(error);
        this.settle(block, { state: 'failed' });
      },
    );
  }

  private settle(block: number, result: Block): void {
    // A block dropped meanwhile stays dropped; fetching it again is the next request's call.
    if (this.blocks.get(block)?.state !== 'loading') return;
    this.blocks.set(block, result);
    for (const listener of this.listeners) listener();
  }
}

/** The tokens around position `i`: up to `radius` before and after, and the token itself; null until all have arrived. */
export function tokenContext(tokens: TokenText, i: number, seqLen: number, radius = 8): { before: string[]; token: string; after: string[] } | null {
  const start = Math.max(0, i - radius);
  const end = Math.min(seqLen, i + radius + 1);
  const texts: string[] = [];
  for (let k = start; k < end; k++) {
    const text = tokens.at(k);
    if (text === undefined) return null;
    texts.push(text);
  }
  return { before: texts.slice(0, i - start), token: texts[i - start]!, after: texts.slice(i - start + 1) };
}
