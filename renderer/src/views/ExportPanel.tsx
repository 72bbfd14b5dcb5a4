/**
 * The Files view's Export panel: the config in every format the engine writes (through the engine
 * to a picked path in Electron, as a download in a browser), the per-head stats as CSV and the
 * focused head's map as PNG.
 */
import { useState } from 'react';
import type { ConfigFormat } from '../../../contract/api';
import { themeLut } from '../charts/colormap';
import { renderPooledMap } from '../charts/heatmap';
import { statsCsv } from '../state/config';
import { useApi, useApp } from '../state/context';
import { downloadCanvas, downloadText, stem } from './download';
import { cssColour, useResolvedTheme } from './theme';

/** Every format the engine writes; DuoAttention's is a TSV like the file its loader reads, the rest JSON. */
const EXPORTS: { format: ConfigFormat; label: string; suffix: string; what: string; kind?: 'tsv' }[] = [
  { format: 'minference', label: 'MInference JSON', suffix: '.minference.json', what: 'per-layer head patterns, loaded by MInference unchanged' },
  { format: 'sglang', label: 'SGLang / vLLM snippet', suffix: '.sglang-config.json', what: 'dual_chunk_attention_config for config.json (Vertical-Slash only)' },
  { format: 'sparsescope', label: 'Sparsescope JSON', suffix: '.sparsescope.json', what: 'config with provenance and measured numbers' },
  { format: 'xattention', label: 'XAttention thresholds', suffix: '.xattention.json', what: 'per-head threshold table, layers x query heads' },
  { format: 'duo', label: 'DuoAttention heads', suffix: '.full_attention_heads.tsv', what: 'retrieval (1) or streaming (0) per KV head, sink and recent sizes in the first line', kind: 'tsv' },
  { format: 'flexprefill', label: 'FlexPrefill parameters', suffix: '.flexprefill.json', what: 'gamma, tau, block size and minimum budget (one setting for every head)' },
  { format: 'minference-attn', label: 'MInference attn_type config', suffix: '.minference-attn.json', what: 'attn_type xattention or flexprefill with its settings, for MInference’s own runner' },
];

function dirname(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut > 0 ? path.slice(0, cut) : path;
}

export function ExportPanel() {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const stats = useApp((s) => s.stats);
  const focus = useApp((s) => s.focus);
  const lastReport = useApp((s) => s.lastReport);
  const searched = useApp((s) => s.searched);
  const { markConfigSaved, notify, reportError } = useApp((s) => s);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const [busy, setBusy] = useState<string | null>(null);
  const bridge = window.sparsescope;

  const exportConfig = async ({ format, suffix, kind }: (typeof EXPORTS)[number]) => {
    if (!capture || !config) return;
    setBusy(format);
    try {
      const fileName = `${stem(capture.fileName)}${suffix}`;
      // Electron writes through the engine to a path the user picks; a browser downloads the text.
      const path = bridge
        ? await bridge.openFileDialog({ title: `Export ${format}`, filters: [kind === 'tsv' ? { name: 'TSV', extensions: ['tsv'] } : { name: 'JSON', extensions: ['json'] }], save: true, defaultPath: `${dirname(capture.path)}/${fileName}` })
        : undefined;
      if (bridge && !path) return;
      const result = await api.call('config.export', {
        config,
        format,
        captureId: capture.captureId,
        ...(lastReport ? { report: lastReport } : {}),
        ...(searched ? { settings: searched.settings } : {}),
        ...(path ? { path } : {}),
      });
      for (const warning of result.warnings) notify('info', warning);
      if (bridge) notify('info', `Wrote ${result.path ?? fileName}.`);
      else downloadText(fileName, result.text, kind === 'tsv' ? 'text/tab-separated-values' : undefined);
      markConfigSaved(config);
    } catch (error) {
      reportError(error, `exporting ${format}`);
    } finally {
      setBusy(null);
    }
  };

  const exportPng = async () => {
    if (!capture) return;
    setBusy('png');
    try {
      const map = await api.call('head.pooledMap', { captureId: capture.captureId, layer: focus.layer, head: focus.head, resolution: 1024 });
      const { image } = renderPooledMap(map, themeLut(theme), { scale: 'log', empty: cssColour('--heat-empty') });
      await downloadCanvas(`${stem(capture.fileName)}-L${focus.layer}-H${focus.head}.png`, image);
    } catch (error) {
      reportError(error, 'exporting the PNG');
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="panel">
      <h2>Export</h2>
      <ul className="export-list">
        {EXPORTS.map((e) => (
          <li key={e.format}>
            <button type="button" onClick={() => void exportConfig(e)} disabled={!config || busy !== null} data-testid={`export-${e.format}`}>
              {busy === e.format ? 'Exporting…' : e.label}
            </button>
            <span className="muted small">{e.what}</span>
          </li>
        ))}
        <li>
          <button
            type="button"
            disabled={!config || !capture}
            data-testid="export-csv"
            onClick={() => capture && config && downloadText(`${stem(capture.fileName)}-heads.csv`, statsCsv(config, stats, capture.layers), 'text/csv')}
          >
            Per-head stats CSV
          </button>
          <span className="muted small">pattern, budgets, recall, error, density and timings per head</span>
        </li>
        <li>
          <button type="button" disabled={!capture || busy !== null} onClick={() => void exportPng()} data-testid="export-png">
            {busy === 'png' ? 'Rendering…' : 'Heatmap PNG'}
          </button>
          <span className="muted small">
            layer {focus.layer} head {focus.head}, 1024² cells, log scale
          </span>
        </li>
      </ul>
    </section>
  );
}
