/**
 * File problems in plain words, for the user errors of the readers and writers: what an errno code
 * means, and the checks made before a file is opened or written (a folder where a file is
 * expected, a missing folder), so no raw `EISDIR: illegal operation ...` reaches the user.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** A readable reason for a failed file open/read/write, with the errno code kept for scripts that grep for it. */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'is a folder, not a file',
    ENOTDIR: 'a part of the path is not a folder',
    EMFILE: 'too many open files',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
  };
  return code ? `${reasons[code] ?? 'error'} (${code})` : String(error);
}

/**
 * Why `path` cannot be read as a file, or null: missing, a folder, or something that is not a
 * regular file (a FIFO would block the open forever).
 */
export async function unreadableReason(path: string): Promise<string | null> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return fileErrorReason({ code: 'EISDIR' });
    return info.isFile() ? null : 'not a regular file';
  } catch (error) {
    return fileErrorReason(error);
  }
}

/**
 * Why a file cannot be written at `path`, or null: the path is a folder or not a regular file, or
 * its folder is missing. Checked before any work, so a long job never ends in a write that fails.
 */
export async function unwritableReason(path: string): Promise<string | null> {
  const target = await stat(path).catch(() => null);
  if (target?.isDirectory()) return 'it is a folder; give a file name';
  if (target && !target.isFile()) return 'it is not a regular file';
  const folder = dirname(resolve(path));
  const parent = await stat(folder).catch(() => null);
  if (!parent) return `folder ${folder} does not exist`;
  return parent.isDirectory() ? null : `${folder} is not a folder`;
}
