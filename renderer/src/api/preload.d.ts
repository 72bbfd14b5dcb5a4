/**
 * What the Electron preload exposes on `window.sparsescope` (contextBridge). The renderer never
 * touches Node or Electron directly; everything goes through `invoke` with the contract's methods.
 */
import type { JobEvent, MethodName } from '../../../contract/api';

export type BridgeReply =
  | { ok: true; result: unknown }
  | { ok: false; error: { message: string; code?: string } };

export interface FileDialogOptions {
  title: string;
  filters: { name: string; extensions: string[] }[];
  /** A save dialog instead of an open dialog. */
  save?: boolean;
  defaultPath?: string;
}

export interface SparsescopeBridge {
  readonly host: 'electron';
  invoke(method: MethodName, params: unknown): Promise<BridgeReply>;
  onJobEvent(listener: (event: JobEvent) => void): () => void;
  /** Absolute path of a dropped File (Electron's webUtils.getPathForFile); the engine may then read its folder. */
  pathForFile(file: File): Promise<string>;
  openFileDialog(options: FileDialogOptions): Promise<string | null>;
  /** Opens a window on the engine behind a `sparsescope serve` URL; replies its origin or why not. */
  openRemote(url: string): Promise<BridgeReply>;
}

declare global {
  interface Window {
    sparsescope?: SparsescopeBridge;
  }
}
