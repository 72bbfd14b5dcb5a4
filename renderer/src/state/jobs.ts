/**
 * The jobs slice of the app store: the engine's long jobs (analyze, search, bench) as they run,
 * and the event stream that reports them. What a finished job brings is results.ts's.
 */
import type { Api, ConnectionState, JobEvent, JobState, Params } from '../../../contract/api';
import { applyJobResult } from './results';
import type { GetApp, SetApp } from './store';

export type JobKind = JobEvent['kind'];

export interface JobsState {
  jobs: Partial<Record<JobKind, JobEvent>>;
  /** The engine's event stream under `serve`; null where it cannot drop (Electron). */
  connection: ConnectionState | null;
}

export interface JobsActions {
  startJob(spec: Params<'job.start'>): Promise<void>;
  cancelJob(kind: JobKind): Promise<void>;
  handleJobEvent(event: JobEvent): void;
  analyze(): Promise<void>;
}

/** What the store remembers of the jobs it started, beside the state (no view draws it). */
export interface JobTracking {
  /** Which job id runs for each kind, so events of stale jobs are ignored. */
  ids: Partial<Record<JobKind, string>>;
  /** The capture each job works on, so a result that lands after the user opened another is not applied to it. */
  captures: Map<string, string | undefined>;
  /** Events that arrived before job.start answered with their id (the socket can beat the reply). */
  early: Map<string, JobEvent>;
}

export function newJobTracking(): JobTracking {
  return { ids: {}, captures: new Map(), early: new Map() };
}

export function isActive(job: JobEvent | undefined): boolean {
  return job?.state === 'running' || job?.state === 'queued';
}

const JOB_STATE_ORDER: Record<JobState, number> = { queued: 0, running: 1, done: 2, failed: 2, cancelled: 2 };
const MAX_EARLY_EVENTS = 50;

/** Whether a listed job state is further along than what the store shows (a live event can be newer than a listing). */
function isAheadOf(listed: JobEvent, shown: JobEvent | undefined): boolean {
  if (shown?.jobId !== listed.jobId) return true;
  const step = JOB_STATE_ORDER[listed.state] - JOB_STATE_ORDER[shown.state];
  return step > 0 || (step === 0 && listed.progress > shown.progress);
}

/** Catch up on events a reconnecting transport dropped: each tracked job's latest state goes the live events' way. */
async function catchUpOnJobs(api: Api, tracking: JobTracking, get: GetApp): Promise<void> {
  let latest: JobEvent[];
  try {
    latest = await api.call('job.list', {});
  } catch (error) {
    get().reportError(error, 'catching up on running jobs');
    return;
  }
  for (const event of latest) {
    if (tracking.ids[event.kind] === event.jobId && isAheadOf(event, get().jobs[event.kind])) get().handleJobEvent(event);
  }
}

/** Listen to the engine's job events and, where the transport can drop, to its connection. */
export function followEngine(api: Api, tracking: JobTracking, set: SetApp, get: GetApp): void {
  api.onJobEvent((event) => get().handleJobEvent(event));
  api.onConnectionChange?.((connection) => {
    set({ connection });
    if (connection === 'connected') void catchUpOnJobs(api, tracking, get);
  });
}

export function jobsSlice(api: Api, tracking: JobTracking, set: SetApp, get: GetApp): JobsState & JobsActions {
  function onJobDone(event: JobEvent): void {
    const jobCapture = tracking.captures.get(event.jobId);
    if (jobCapture !== undefined && jobCapture !== get().capture?.captureId) {
      get().notify('info', `A ${event.kind} job finished for a capture that is no longer open; its result was set aside.`);
      return;
    }
    applyJobResult(event, set, get);
  }

  return {
    jobs: {},
    connection: null,

    async startJob(spec) {
      if (isActive(get().jobs[spec.kind])) {
        get().notify('info', `A ${spec.kind} job is already running; cancel it first.`);
        return;
      }
      try {
        const { jobId } = await api.call('job.start', spec);
        tracking.ids[spec.kind] = jobId;
        tracking.captures.set(jobId, spec.captureId);
        set({ jobs: { ...get().jobs, [spec.kind]: { jobId, kind: spec.kind, state: 'queued', progress: 0, message: 'queued', etaSeconds: null } } });
        const early = tracking.early.get(jobId);
        tracking.early.delete(jobId);
        if (early) get().handleJobEvent(early);
      } catch (error) {
        get().reportError(error, `starting the ${spec.kind} job`);
      }
    },

    async cancelJob(kind) {
      const jobId = tracking.ids[kind];
      if (!jobId) return;
      try {
        await api.call('job.cancel', { jobId });
      } catch (error) {
        get().reportError(error, `cancelling the ${kind} job`);
      }
    },

    handleJobEvent(event) {
      if (tracking.ids[event.kind] !== event.jobId) {
        tracking.early.set(event.jobId, event);
        if (tracking.early.size > MAX_EARLY_EVENTS) tracking.early.delete(tracking.early.keys().next().value!);
        return;
      }
      const previous = get().jobs[event.kind];
      if (previous && ['done', 'failed', 'cancelled'].includes(previous.state)) return;
      set({ jobs: { ...get().jobs, [event.kind]: event } });
      if (event.state === 'done') onJobDone(event);
      if (event.state === 'failed') get().notify('error', `The ${event.kind} job failed: ${event.error ?? event.message}. Your config and results were kept.`);
    },

    async analyze() {
      const { capture, config } = get();
      if (!capture || !config) return;
      // A new analysis supersedes one still running for an older config or capture.
      if (isActive(get().jobs.analyze)) {
        await get().cancelJob('analyze');
        const { analyze: _superseded, ...others } = get().jobs;
        set({ jobs: others });
      }
      await get().startJob({ kind: 'analyze', captureId: capture.captureId, config });
    },
  };
}
