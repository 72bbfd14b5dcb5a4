/** A modal file picker over the engine's files.list (the folders the engine may read). */
import { useEffect, useState } from 'react';
import type { Result } from '../../../contract/api';
import { useApi } from '../state/context';
import { errorMessage } from '../state/store';
import { fmtBytes } from './format';

export interface FileBrowserProps {
  title: string;
  extensions: string[];
  onPick: (path: string) => void;
  onClose: () => void;
}

export function FileBrowser({ title, extensions, onPick, onClose }: FileBrowserProps) {
  const api = useApi();
  const [dir, setDir] = useState<string | undefined>(undefined);
  const [listing, setListing] = useState<Result<'files.list'> | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setError(null);
    api
      .call('files.list', dir === undefined ? {} : { dir })
      .then((result) => current && setListing(result))
      .catch((e: unknown) => current && setError(errorMessage(e)));
    return () => {
      current = false;
    };
  }, [api, dir]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const visible = listing?.entries.filter((e) => e.kind === 'dir' || extensions.some((ext) => e.name.toLowerCase().endsWith(`.${ext}`))) ?? [];
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal file-browser" role="dialog" aria-modal="true" aria-label={title} onClick={(e) => e.stopPropagation()} data-testid="file-browser">
        <header className="panel-head">
          <h2>{title}</h2>
          <button type="button" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </header>
        {listing && (
          <div className="controls">
            <label>
              Root
              <select value="" onChange={(e) => e.target.value && setDir(e.target.value)}>
                <option value="">{listing.dir}</option>
                {listing.roots.map((root) => (
                  <option key={root} value={root}>
                    {root}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" disabled={!listing.parent} onClick={() => listing.parent && setDir(listing.parent)}>
              ↑ Up
            </button>
          </div>
        )}
        {error && <p className="error-text">{error}</p>}
        <ul className="file-list">
          {visible.map((entry) => (
            <li key={entry.path}>
              <button type="button" className="file-entry" onClick={() => (entry.kind === 'dir' ? setDir(entry.path) : onPick(entry.path))}>
                <span>{entry.kind === 'dir' ? '📁' : '📄'}</span>
                <span className="file-name">{entry.name}</span>
                <span className="muted">{entry.kind === 'file' ? fmtBytes(entry.sizeBytes) : ''}</span>
              </button>
            </li>
          ))}
          {listing && visible.length === 0 && <li className="muted">No {extensions.map((e) => `.${e}`).join(' or ')} files here.</li>}
        </ul>
      </div>
    </div>
  );
}
