/** What a file dropped on the window does, per host and file type. */
import type { AppActions } from '../state/store';

type DropActions = Pick<AppActions, 'openCapture' | 'importConfig' | 'notify'>;

export const CAPTURE_EXTENSIONS = ['safetensors'];
/** JSON configs of every format, and DuoAttention's full_attention_heads.tsv. */
export const CONFIG_EXTENSIONS = ['json', 'tsv'];

const extensionOf = (name: string) => name.split('.').pop()?.toLowerCase() ?? '';

export async function handleDroppedFile(file: File, actions: DropActions): Promise<void> {
  const extension = extensionOf(file.name);
  const bridge = window.sparsescope;
  if (CAPTURE_EXTENSIONS.includes(extension)) {
    if (!bridge) {
      actions.notify(
        'error',
        `${file.name}: a browser does not reveal where a dropped file lives, so captures cannot be opened by dropping them here. Use Files → Open capture… to pick it from the folders \`sparsescope serve --root\` shares.`,
      );
      return;
    }
    await actions.openCapture(await bridge.pathForFile(file));
    return;
  }
  if (CONFIG_EXTENSIONS.includes(extension)) {
    if (bridge) await actions.importConfig({ path: await bridge.pathForFile(file) });
    else await actions.importConfig({ text: await file.text(), fileName: file.name });
    return;
  }
  actions.notify('error', `${file.name}: not a capture (.safetensors) or a head config (.json, or DuoAttention's .tsv).`);
}
