/** What a capture is: file, model, shape, size, prompt, tokens and identity; long text cut, whole in its tooltip. */
import type { CaptureSummary } from '../../../contract/api';
import { fmtBytes, fmtTokens, plural } from './format';

export function CaptureFacts({ capture }: { capture: CaptureSummary }) {
  return (
    <dl className="facts" data-testid="capture-facts">
      <dt>File</dt>
      <dd className="truncate" title={capture.path}>
        {capture.fileName}
      </dd>
      <dt>Model</dt>
      <dd className="truncate" title={capture.model}>
        {capture.model}
      </dd>
      <dt>Shape</dt>
      <dd>
        {capture.layers.length}/{capture.numLayers} layer{capture.numLayers === 1 ? '' : 's'} · {plural(capture.numHeads, 'head')} ({capture.numKvHeads} KV) · head dim {capture.headDim} · {fmtTokens(capture.seqLen)} tokens ·{' '}
        {capture.dtype}
      </dd>
      <dt>Size</dt>
      <dd>{fmtBytes(capture.sizeBytes)}</dd>
      <dt>Prompt</dt>
      <dd className="truncate" title={capture.source}>
        {capture.source}
      </dd>
      <dt>Tokens</dt>
      <dd data-testid="capture-tokens">{capture.tokens ? `yes${capture.tokenizer ? ` (${capture.tokenizer})` : ''}` : 'no'}</dd>
      <dt>Hash</dt>
      <dd className="mono">{capture.hash.slice(0, 16)}…</dd>
    </dl>
  );
}
