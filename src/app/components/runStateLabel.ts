/** What the run-state badge says for each state of the worker's run state machine. */
import type { RunState } from '../../worker/runState';

export const RUN_STATE_LABEL: Record<RunState, string> = {
  idle: 'Ready',
  loadingModel: 'Preparing',
  preparing: 'Preparing',
  training: 'Training',
  importing: 'Importing',
  decomposing: 'Decomposing',
  pausing: 'Pausing…',
  paused: 'Paused',
  stopping: 'Stopping…',
  stopped: 'Stopped',
  done: 'Done',
  recovering: 'Recovering',
  failed: 'Stopped by an error',
};
