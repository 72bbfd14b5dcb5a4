/** The notices slice of the app store: messages at the top of the window, errors until dismissed. */
import { ApiError } from '../../../contract/api';

export interface Notice {
  id: number;
  level: 'error' | 'info';
  message: string;
}

export interface NoticesState {
  notices: Notice[];
}

export interface NoticesActions {
  notify(level: Notice['level'], message: string): void;
  reportError(error: unknown, context?: string): void;
  dismissNotice(id: number): void;
  /** Errors about a capture no longer open go when another opens. */
  clearErrors(): void;
}

const INFO_NOTICE_MS = 6000;
const MAX_NOTICES = 5;

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError || error instanceof Error) return error.message;
  return String(error);
}

export function noticesSlice(set: (partial: NoticesState) => void, get: () => NoticesState & NoticesActions): NoticesState & NoticesActions {
  let nextId = 1;
  return {
    notices: [],
    notify(level, message) {
      const notice = { id: nextId++, level, message };
      set({ notices: [...get().notices, notice].slice(-MAX_NOTICES) });
      // Information goes away by itself; errors stay until the user dismisses them.
      if (level === 'info') setTimeout(() => get().dismissNotice(notice.id), INFO_NOTICE_MS);
    },
    reportError(error, context) {
      const message = errorMessage(error);
      get().notify('error', context ? `Failed ${context}: ${message}` : message);
    },
    dismissNotice(id) {
      set({ notices: get().notices.filter((n) => n.id !== id) });
    },
    clearErrors() {
      set({ notices: get().notices.filter((n) => n.level !== 'error') });
    },
  };
}
