/** A readable reason for a failed file open/read, with the errno code kept for scripts that grep for it. */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a folder, not a file',
    EMFILE: 'too many open files',
  };
  return code ? `${reasons[code] ?? 'error'} (${code})` : String(error);
}
