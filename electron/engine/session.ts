/**
 * Host-side state of one engine: the folders it may read (roots), the open captures by id, and
 * the recent-files list kept in the cache folder.
 *
 * Root confinement: every path that comes from a client is resolved against the first root,
 * refused if it lies lexically outside the roots (before touching the disk, so nothing about
 * outside files leaks), then resolved with realpath and refused again if a symlink or `..` led
 * outside. Entries of a listing whose real location is outside the roots are left out.
 *
 * Grants (desktop): a file the user opens through the host (native dialog, drop) makes its folder
 * a root; a path the user picks in the save dialog may be written once. With
 * `writesOnlyWhereGranted`, nothing else may be written.
 */
import { mkdir, readdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ApiError, type CaptureSummary, type Result } from '../../contract/api.js';
import type { Capture } from './capture/types.js';

export interface RecentFile {
  path: string;
  openedAt: string;
}

const MAX_RECENT = 12;

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export type GrantedAccess = 'open' | 'save';

export class Roots {
  private realRoots: Promise<string[]> | null = null;
  private readonly folders: string[];
  /** Paths the user picked in the save dialog, each writable once (desktop shell). */
  private readonly saveTargets = new Set<string>();

  constructor(
    given: readonly string[],
    private readonly writesOnlyWhereGranted = false,
  ) {
    this.folders = given.map((root) => resolve(root));
  }

  /** The roots as the user named them, made absolute. */
  get absolute(): string[] {
    return [...this.folders];
  }

  /** The roots with symlinks resolved (a root that does not exist is an error naming it). */
  real(): Promise<string[]> {
    this.realRoots ??= Promise.all(
      this.absolute.map((root) =>
        realpath(root).catch(() => {
          throw new ApiError(`root folder ${root} does not exist`, 'not-found');
        }),
      ),
    );
    return this.realRoots;
  }

  /** What the user chose through the host (a native dialog, a drop), wherever it is. */
  grant(path: string, access: GrantedAccess): void {
    const absolute = resolve(path);
    if (access === 'save') this.saveTargets.add(absolute);
    else if (!this.containsLexically(absolute)) {
      this.folders.push(dirname(absolute));
      this.realRoots = null;
    }
  }

  /** Where a client's path points: relative paths are under the first root. */
  private absolutePath(path: string): string {
    if (isAbsolute(path)) return resolve(path);
    const [first] = this.folders;
    if (first === undefined) throw this.refuse(path);
    return resolve(first, path);
  }

  /** Lexical check only: no disk access. */
  containsLexically(path: string): boolean {
    return this.absolute.some((root) => isInside(path, root));
  }

  async containsReal(realPath: string): Promise<boolean> {
    return (await this.real()).some((root) => isInside(realPath, root));
  }

  private refuse(path: string): ApiError {
    if (this.folders.length === 0) return new ApiError(`${path}: no folder is open yet: open a file first`, 'forbidden');
    return new ApiError(`${path} is outside the allowed folders (${this.folders.join(', ')})`, 'forbidden');
  }

  /** The real path of an existing file or folder inside the roots. */
  async resolveExisting(path: string): Promise<string> {
    const absolute = this.absolutePath(path);
    const realRoots = await this.real();
    if (!this.containsLexically(absolute) && !realRoots.some((root) => isInside(absolute, root))) throw this.refuse(path);
    let real: string;
    try {
      real = await realpath(absolute);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw new ApiError(`no such file or folder: ${path}`, 'not-found');
      throw new ApiError(`cannot read ${path}: ${(error as Error).message}`, 'bad-request');
    }
    if (!(await this.containsReal(real))) throw this.refuse(path);
    return real;
  }

  /**
   * Where to write `path`: a path picked in the save dialog (once), or, unless writes go only
   * there, a file inside the roots (it may not exist yet; its folder must).
   */
  async resolveWritable(path: string): Promise<string> {
    const absolute = this.absolutePath(path);
    if (this.saveTargets.delete(absolute)) return absolute;
    if (this.writesOnlyWhereGranted) throw new ApiError(`${path}: choose where to save it in the save dialog`, 'forbidden');
    const name = basename(absolute);
    if (name === '' || name === '.' || name === '..') throw new ApiError(`not a file name: ${path}`);
    const folder = await this.resolveExisting(dirname(absolute));
    const target = join(folder, name);
    // An existing symlink at the target would redirect the write: resolve it and check again.
    const realTarget = await realpath(target).catch(() => target);
    if (!(await this.containsReal(realTarget))) throw this.refuse(path);
    return realTarget;
  }
}

export type FileListing = Result<'files.list'>;

export async function listFolder(roots: Roots, dir: string | undefined): Promise<FileListing> {
  const realRoots = await roots.real();
  const folder = dir === undefined ? realRoots[0] : await roots.resolveExisting(dir);
  if (folder === undefined) throw new ApiError('no folder is open yet: open a file first', 'forbidden');
  let dirents;
  try {
    dirents = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOTDIR') throw new ApiError(`not a folder: ${dir}`);
    throw new ApiError(`cannot list ${dir ?? folder}: ${(error as Error).message}`, 'bad-request');
  }
  const entries: FileListing['entries'] = [];
  for (const dirent of dirents) {
    if (dirent.name.startsWith('.')) continue; // hidden files, as file dialogs do
    const path = join(folder, dirent.name);
    try {
      // Follow symlinks, and leave out any whose target is outside the roots.
      const real = dirent.isSymbolicLink() ? await realpath(path) : path;
      if (dirent.isSymbolicLink() && !realRoots.some((root) => isInside(real, root))) continue;
      const info = await stat(real);
      if (info.isDirectory()) entries.push({ name: dirent.name, path, kind: 'dir', sizeBytes: 0 });
      else if (info.isFile()) entries.push({ name: dirent.name, path, kind: 'file', sizeBytes: info.size });
    } catch {
      // A dangling link or an unreadable entry is simply not listed.
    }
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  const isRoot = realRoots.includes(folder);
  return { dir: folder, parent: isRoot ? null : dirname(folder), roots: realRoots, entries };
}

/** Recently opened captures, newest first, in `<cacheDir>/recent.json`. */
export class RecentFiles {
  private readonly file: string;

  constructor(cacheDir: string) {
    this.file = join(cacheDir, 'recent.json');
  }

  async list(): Promise<RecentFile[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(
        (entry): entry is RecentFile => typeof entry?.path === 'string' && typeof entry?.openedAt === 'string',
      );
    } catch {
      return []; // missing or corrupt: start over rather than fail the app
    }
  }

  /** The folders of the recent files that still exist: the desktop engine's roots at start. */
  async folders(): Promise<string[]> {
    const folders = [...new Set((await this.list()).map((entry) => dirname(entry.path)))];
    const exists = await Promise.all(folders.map((folder) => stat(folder).then((info) => info.isDirectory(), () => false)));
    return folders.filter((_, i) => exists[i]);
  }

  async add(path: string, now = new Date()): Promise<void> {
    const entries = [{ path, openedAt: now.toISOString() }, ...(await this.list()).filter((entry) => entry.path !== path)].slice(0, MAX_RECENT);
    await mkdir(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(entries, null, 2));
    await rename(temporary, this.file);
  }
}

/** Open captures by id. Opening a file that is already open returns the same capture. */
export class CaptureRegistry {
  private readonly open = new Map<string, Capture>();

  add(capture: Capture): { capture: Capture; added: boolean } {
    const existing = this.open.get(capture.summary.captureId);
    if (existing) return { capture: existing, added: false };
    this.open.set(capture.summary.captureId, capture);
    return { capture, added: true };
  }

  get(captureId: string): Capture {
    const capture = this.open.get(captureId);
    if (!capture) throw new ApiError(`no open capture ${JSON.stringify(captureId)} (it was closed, or the engine restarted)`, 'not-found');
    return capture;
  }

  summary(captureId: string): CaptureSummary {
    return this.get(captureId).summary;
  }

  async close(captureId: string): Promise<Capture | null> {
    const capture = this.open.get(captureId);
    if (!capture) return null;
    this.open.delete(captureId);
    await capture.close();
    return capture;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map((capture) => capture.close()));
  }
}
