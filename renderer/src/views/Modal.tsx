/**
 * Every dialog of the app: a backdrop, focus moved into the dialog and back when it closes, and Esc
 * closing it from any control inside (a select or text field included), before any other shortcut.
 */
import { useEffect, useRef, type ReactNode } from 'react';

export interface ModalProps {
  /** What Esc, the backdrop and the close button do. */
  onClose: () => void;
  /** Whether a click on the backdrop closes it (not for a choice the user must make). */
  closeOnBackdrop?: boolean;
  className?: string;
  labelledBy?: string;
  label?: string;
  testId?: string;
  children: ReactNode;
}

export function Modal({ onClose, closeOnBackdrop = true, className = '', labelledBy, label, testId, children }: ModalProps) {
  const dialogRef = useRef<HTMLDivElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const dialog = dialogRef.current;
    if (dialog && !dialog.contains(document.activeElement)) (dialog.querySelector<HTMLElement>('[autofocus], button, select, input') ?? dialog).focus();
    // Capture phase: ahead of the controls' own handlers and the app's shortcuts.
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      event.stopPropagation();
      onCloseRef.current();
    };
    window.addEventListener('keydown', onKey, true);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      before?.focus();
    };
  }, []);

  return (
    <div className="modal-backdrop" onClick={closeOnBackdrop ? onClose : undefined}>
      <div ref={dialogRef} className={`modal ${className}`} role="dialog" aria-modal="true" aria-labelledby={labelledBy} aria-label={label} tabIndex={-1} onClick={(e) => e.stopPropagation()} data-testid={testId}>
        {children}
      </div>
    </div>
  );
}
