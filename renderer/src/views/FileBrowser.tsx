/** A modal file picker over the engine's files.list (the folders the engine may read). */
import { useEffect, useState } from 'react';
import type { Result } from '../../../contract/api';
import { useApi } from '../state/context';
import { errorMessage } from '../state/store';
import { fmtBytes } from './format';
import { Modal } from './Modal';

/** Folder and file icons drawn as SVG, so they look the same with any font (emoji fonts are often missing). */
function EntryIcon({ kind }: { kind: 'file' | 'dir' }) {
  return (
    <svg className={`entry-icon entry-${kind}`} width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
      {kind === 'dir' ? <path d="M1.5 3.5h5l1.5 2h6.5v7.5h-13z" /> : <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" />}
    </svg>
  );
}

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

  const visible = listing?.entries.filter((e) => e.kind === 'dir' || extensions.some((ext) => e.name.toLowerCase().endsWith(`.${ext}`))) ?? [];
  return (
    <Modal onClose={onClose} className="file-browser" label={title} testId="file-browser">
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
              <EntryIcon kind={entry.kind} />
              <span className="file-name">{entry.name}</span>
              <span className="muted">{entry.kind === 'file' ? fmtBytes(entry.sizeBytes) : ''}</span>
            </button>
          </li>
        ))}
        {listing && visible.length === 0 && <li className="muted">No {extensions.map((e) => `.${e}`).join(' or ')} files here.</li>}
      </ul>
    </Modal>
  );
}
