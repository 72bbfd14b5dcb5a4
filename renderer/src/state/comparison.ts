/**
 * The comparison slice of the app store: a second config file, imported only to compare one head
 * under two configs (Compare view); it never replaces the working config.
 */
import { ApiError, type Api, type CaptureSummary, type HeadConfig, type Params } from '../../../contract/api';
import { fitImportedConfig } from './config';
import type { NoticesActions } from './notices';

export interface ComparisonState {
  comparisonFile: { config: HeadConfig; fileName: string } | null;
}

export interface ComparisonActions {
  importComparisonFile(params: Params<'config.import'>): Promise<void>;
}

type Get = () => ComparisonState & NoticesActions & { capture: CaptureSummary | null };

export function comparisonSlice(api: Api, set: (partial: ComparisonState) => void, get: Get): ComparisonState & ComparisonActions {
  return {
    comparisonFile: null,
    async importComparisonFile(params) {
      const { capture } = get();
      const fileName = 'fileName' in params ? params.fileName : params.path.split(/[\\/]/).pop()!;
      try {
        const imported = await api.call('config.import', params);
        if (!capture) throw new ApiError('open a capture first');
        let config: HeadConfig;
        try {
          config = fitImportedConfig(imported.config, capture).config;
        } catch (error) {
          throw new ApiError(`it does not fit the open capture: ${error instanceof Error ? error.message : String(error)}`);
        }
        set({ comparisonFile: { config, fileName } });
      } catch (error) {
        get().reportError(error, `importing ${fileName} to compare`);
      }
    },
  };
}
