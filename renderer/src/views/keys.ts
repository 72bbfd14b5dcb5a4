/** Keyboard focus rules shared by the app's shortcuts. */

const TEXT_INPUT_TYPES = new Set(['', 'text', 'search', 'url', 'tel', 'email', 'password', 'number']);

/** Fields that edit text keep their own keys, Ctrl+Z (their own undo) included; other controls do not. */
export function isTextField(target: EventTarget | null): boolean {
  if (target instanceof HTMLTextAreaElement) return true;
  if (target instanceof HTMLInputElement) return TEXT_INPUT_TYPES.has(target.type);
  return target instanceof HTMLElement && target.isContentEditable === true;
}

/** Controls where plain keys mean something (typing, choosing an option): view shortcuts stay off there. */
export function takesPlainKeys(target: EventTarget | null): boolean {
  return isTextField(target) || target instanceof HTMLSelectElement;
}
