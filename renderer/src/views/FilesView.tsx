/**
 * Files: open a capture (engine file browser, native dialog in Electron, drag and drop, recent
 * files), import a head config, export (ExportPanel) and the config in use (ConfigFactsPanel). In
 * Electron, it also opens a window on a remote engine (`sparsescope serve` on a GPU server,
 * through an SSH tunnel).
 */
import { useEffect, useState } from 'react';
import type { Result } from '../../../contract/api';
import { useApi, useApp } from '../state/context';
import { CaptureFacts } from './CaptureFacts';
import { ConfigFactsPanel } from './ConfigFactsPanel';
import { CAPTURE_EXTENSIONS, CONFIG_EXTENSIONS } from './drop';
import { ExportPanel } from './ExportPanel';
import { FileBrowser } from './FileBrowser';
import { RemoteEnginePanel } from './RemoteEnginePanel';

type Picker = { kind: 'capture' | 'config' } | null;

export function FilesView() {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const opening = useApp((s) => s.opening);
  const { openCapture, openDemo, importConfig, reportError } = useApp((s) => s);
  const [picker, setPicker] = useState<Picker>(null);
  const [recent, setRecent] = useState<Result<'capture.recent'>>([]);
  const bridge = window.sparsescope;

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
      <ExportPanel />
      <ConfigFactsPanel />
      <section className="panel drop-zone" aria-label="Drop files here">
        <p>
          <strong>Drop files anywhere on the window</strong>
        </p>
        <p className="muted small">
          Head configs are imported: .json (MInference, SGLang/vLLM config.json, Sparsescope, XAttention, FlexPrefill, MInference attn_type) and DuoAttention&apos;s .tsv.{' '}
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
