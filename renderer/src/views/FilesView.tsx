/**
 * Files: open a capture (engine file browser, native dialog in Electron, drag and drop, recent
 * files), import a head config, and export the config (MInference, SGLang/vLLM, Sparsescope),
 * the per-head stats as CSV and the focused head's map as PNG. In Electron, it also opens a
 * window on a remote engine (`sparsescope serve` on a GPU server, through an SSH tunnel).
 */
import { useEffect, useMemo, useState } from 'react';
import type { ConfigFormat, Result } from '../../../contract/api';
import { themeLut } from '../charts/colormap';
import { renderPooledMap } from '../charts/heatmap';
import { isDefaultConfig, statsCsv } from '../state/config';
import { modelTotals } from '../state/overview';
import { useApi, useApp } from '../state/context';
import { CAPTURE_EXTENSIONS, CONFIG_EXTENSIONS } from './drop';
import { downloadCanvas, downloadText, stem } from './download';
import { CaptureFacts } from './CaptureFacts';
import { FileBrowser } from './FileBrowser';
import { PATTERN_LABEL, PATTERNS, plural } from './format';
import { RemoteEnginePanel } from './RemoteEnginePanel';
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

type Picker = { kind: 'capture' | 'config' } | null;

function dirname(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut > 0 ? path.slice(0, cut) : path;
}

export function FilesView() {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const stats = useApp((s) => s.stats);
  const focus = useApp((s) => s.focus);
  const lastReport = useApp((s) => s.lastReport);
  const searched = useApp((s) => s.searched);
  const opening = useApp((s) => s.opening);
  const loadedConfig = useApp((s) => s.loadedConfig);
  const tunedCount = useApp((s) => s.tunedKeys.length);
  const { openCapture, openDemo, importConfig, markConfigSaved, notify, reportError } = useApp((s) => s);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const [picker, setPicker] = useState<Picker>(null);
  const [recent, setRecent] = useState<Result<'capture.recent'>>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const bridge = window.sparsescope;
  const configSource = searched
    ? `search (${searched.settings.mode === 'candidates' ? 'MInference candidates' : `target recall ${searched.settings.targetRecall}`})`
    : loadedConfig && isDefaultConfig(loadedConfig)
      ? 'MInference default for every head'
      : 'imported file';
  const patternCounts = useMemo(() => (config && capture ? modelTotals(config, capture.layers, {}).patternCounts : null), [config, capture]);

  useEffect(() => {
    api.call('capture.recent', {}).then(setRecent, (e: unknown) => reportError(e, 'reading recent files'));
  }, [api, capture, reportError]);

  const choose = async (kind: 'capture' | 'config') => {
    if (!bridge) return setPicker({ kind });
    const path = await bridge.openFileDialog(
      kind === 'capture'
        ? { title: 'Open capture', filters: [{ name: 'Sparsescope capture', extensions: CAPTURE_EXTENSIONS }] }
        : { title: 'Import head config', filters: [{ name: 'Head config', extensions: CONFIG_EXTENSIONS }] },
    );
    if (path) await (kind === 'capture' ? openCapture(path) : importConfig({ path }));
  };

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
    <div className="files">
      <section className="panel">
        <h2>Capture</h2>
        {capture ? (
          <CaptureFacts capture={capture} />
        ) : (
          <p className="muted">No capture open.</p>
        )}
        <div className="button-row">
          <button type="button" className="primary" onClick={() => void choose('capture')} disabled={opening} data-testid="open-capture">
            Open capture…
          </button>
          <button type="button" onClick={() => void openDemo()} disabled={opening} data-testid="open-demo">
            Open demo
          </button>
          <button type="button" onClick={() => void choose('config')} data-testid="import-config">
            Import config…
          </button>
        </div>
        <h3>Recent</h3>
        <ul className="recent" data-testid="recent">
          {recent.length === 0 && <li className="muted">Nothing opened yet.</li>}
          {recent.map((r) => (
            <li key={r.path}>
              <button type="button" className="link truncate" onClick={() => void openCapture(r.path)} title={r.path}>
                {r.path}
              </button>{' '}
              <span className="muted small">{new Date(r.openedAt).toLocaleString()}</span>
            </li>
          ))}
        </ul>
      </section>
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
      <section className="panel">
        <h2>Head config</h2>
        {config && capture && patternCounts ? (
          <dl className="facts" data-testid="config-facts">
            <dt>Source</dt>
            <dd>{configSource}</dd>
            <dt>Heads</dt>
            <dd>
              {capture.layers.length * config.numHeads} in {plural(capture.layers.length, 'layer')}; {tunedCount} tuned by hand
            </dd>
            <dt>Patterns</dt>
            <dd>
              {PATTERNS.map((p) => `${PATTERN_LABEL[p]} ${patternCounts[p]}`).join(' · ')}
            </dd>
          </dl>
        ) : (
          <p className="muted">No config.</p>
        )}
      </section>
      <section className="panel drop-zone" aria-label="Drop files here">
        <p>
          <strong>Drop files anywhere on the window</strong>
        </p>
        <p className="muted small">
          .json head configs (MInference, SGLang/vLLM config.json, Sparsescope) are imported.{' '}
          {bridge ? '.safetensors captures open.' : '.safetensors captures must be opened with Open capture…: a browser does not tell the engine where a dropped file lives.'}
        </p>
      </section>
      {bridge && <RemoteEnginePanel bridge={bridge} />}
      {picker && (
        <FileBrowser
          title={picker.kind === 'capture' ? 'Open capture' : 'Import head config'}
          extensions={picker.kind === 'capture' ? CAPTURE_EXTENSIONS : CONFIG_EXTENSIONS}
          onClose={() => setPicker(null)}
          onPick={(path) => {
            setPicker(null);
            void (picker.kind === 'capture' ? openCapture(path) : importConfig({ path }));
          }}
        />
      )}
    </div>
  );
}
