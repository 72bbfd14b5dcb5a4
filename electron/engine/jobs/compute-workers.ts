/**
 * Which compute workers run jobs: one per visible GPU, each pinned to it with CUDA_VISIBLE_DEVICES
 * (inside the worker it is then device 0), or CPU workers. SPARSESCOPE_WORKERS chooses:
 *   auto (default)  one per visible GPU; one CPU worker where there is none
 *   gpu:N           the first N visible GPUs
 *   cpu:N           N CPU workers with every GPU hidden (stand-ins for N GPUs in tests)
 */
import type { ComputeWorker } from '../../../contract/api.js';
import type { DeviceReport } from '../native-api.js';

export interface ComputeWorkerSlot extends ComputeWorker {
  /** Added to the worker's environment. */
  env: Record<string, string>;
}

export class WorkerSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerSettingError';
  }
}

const MAX_WORKERS = 64;
const SETTING = /^(?:auto|(gpu|cpu):(\d+))$/;

/** The single worker of a machine without GPUs: named as the jobs worker always was. */
const CPU_ONLY: ComputeWorkerSlot = { name: 'jobs', label: 'CPU', cudaIndex: null, env: {} };

/**
 * The workers `setting` asks for on a machine whose visible GPUs `report` lists. `visible` is the
 * host's CUDA_VISIBLE_DEVICES: a worker pinned to visible GPU i gets that list's i-th entry.
 */
export function planComputeWorkers(setting: string | undefined, report: Pick<DeviceReport, 'cuda'>, visible: string | undefined): ComputeWorkerSlot[] {
  const text = (setting ?? 'auto').trim() || 'auto';
  const match = SETTING.exec(text);
  if (!match) throw new WorkerSettingError(`SPARSESCOPE_WORKERS=${JSON.stringify(text)}: expected auto, gpu:N or cpu:N`);
  const count = Number(match[2] ?? 0);
  if (match[1] && (count < 1 || count > MAX_WORKERS)) throw new WorkerSettingError(`SPARSESCOPE_WORKERS=${text}: N must be 1..${MAX_WORKERS}`);
  if (match[1] === 'cpu') return Array.from({ length: count }, (_, i) => ({ name: `cpu-${i}`, label: `CPU ${i}`, cudaIndex: null, env: { CUDA_VISIBLE_DEVICES: '' } }));
  const gpus = report.cuda.available ? report.cuda.devices : [];
  if (match[1] === 'gpu' && count > gpus.length) {
    throw new WorkerSettingError(`SPARSESCOPE_WORKERS=${text}: only ${gpus.length} GPU${gpus.length === 1 ? ' is' : 's are'} visible${report.cuda.reason ? ` (${report.cuda.reason})` : ''}`);
  }
  if (gpus.length === 0) return [CPU_ONLY];
  const ids = visible?.split(',').map((id) => id.trim());
  return gpus.slice(0, match[1] ? count : gpus.length).map((gpu) => ({
    name: `gpu-${gpu.index}`,
    label: `GPU ${gpu.index} · ${gpu.name}`,
    cudaIndex: gpu.index,
    env: { CUDA_VISIBLE_DEVICES: ids?.[gpu.index] ?? String(gpu.index) },
  }));
}
