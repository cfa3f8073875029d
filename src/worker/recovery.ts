/**
 * Keeping the user's work through failures: a lost device is replaced and the job restored from its last checkpoint;
 * out of GPU memory, the device is replaced too (its pool may hold buffers the device refused) and the edit the
 * user had comes back (`keep`): the previous one when a new run or session failed before making progress, else the
 * current one from its checkpoint. A run that cannot be set up, or is stopped during its setup, brings the previous
 * edit back the same way.
 */
import { NoWebGpuError } from '../gpu/device';
import { DeviceLostError, GpuOutOfMemoryError } from '../gpu/errors';
import { qualityLabel } from '../edit/qualityLevels';
import type { EditCommand } from './protocol';
import { errorMessage, type KeptEdit, type WorkerContext } from './workerContext';

/** Attempts at opening a new device after a loss. */
const RECOVERY_ATTEMPTS = 3;

export class Recovery {
  /** Bringing an edit back; commands that use the job wait for it. */
  keeping: Promise<void> | null = null;

  constructor(private readonly ctx: WorkerContext) {}

  /** A loss while no training runs: restore the job at once so downloads keep working. */
  async recoverIdle(e: DeviceLostError): Promise<void> {
    if (!this.ctx.edit.job) return;
    const back = this.ctx.edit.restingState();
    this.ctx.machine.to('recovering');
    this.ctx.device.markLost(e);
    if (await this.recover()) this.ctx.machine.to(back);
    else this.ctx.machine.to('failed');
  }

  /** Replaces a lost device and restores the job from the last checkpoint. False when that failed. */
  async recover(): Promise<boolean> {
    const lostError = this.ctx.device.lost ?? new DeviceLostError('unknown');
    const fromStep = this.ctx.edit.checkpoint?.step ?? 0;
    const stepsBefore = this.ctx.edit.job?.stepsDone ?? fromStep;
    this.ctx.post({ type: 'deviceLost', message: lostError.message, fromStep });
    this.ctx.edit.job = null; // its buffers died with the device
    let lastError: unknown = new Error('there is no checkpoint to continue from');
    for (let attempt = 0; attempt < RECOVERY_ATTEMPTS && this.ctx.edit.checkpoint && this.ctx.edit.input; attempt++) {
      try {
        const { checkpoint, input } = this.ctx.edit;
        const model = this.ctx.models.current;
        if (!model) throw new Error('The CLIP model is not loaded.');
        await this.ctx.serial(async () => {
          const engine = await this.ctx.device.open();
          this.ctx.busy('restore', `Continuing on a new GPU device from step ${fromStep}…`);
          this.ctx.edit.job = await this.ctx.device.watch(this.ctx.restoreJob(engine, model, input, checkpoint.bytes));
        });
        this.ctx.post({
          type: 'recovered',
          step: this.ctx.edit.job!.stepsDone,
          lostSteps: Math.max(0, stepsBefore - fromStep),
        });
        await this.ctx.gpu(() => this.ctx.renderPreview()).catch(() => undefined);
        return true;
      } catch (e) {
        lastError = e;
        this.ctx.edit.job = null;
        await this.ctx.sleep(500 * (attempt + 1));
      }
    }
    this.ctx.fail('device-lost', `The GPU device was lost and could not be replaced: ${errorMessage(lastError)}`, {
      recoverable: false,
      hint: 'Reload the page. A session you downloaded can be opened again to continue.',
    });
    return false;
  }

  /**
   * Out of GPU memory: say what to change, replace the device and bring back the edit the user had. A device that
   * refused an allocation handed out an unusable buffer, which the pool would lend again, and it may still report
   * errors from the failed work: only a fresh device is sure to work (all its memory free for the next try).
   */
  async outOfMemory(e: GpuOutOfMemoryError, command: EditCommand['type'], exportHint?: string): Promise<void> {
    const input = this.ctx.edit.input;
    const kept = this.ctx.edit.toKeep(command);
    const running = this.ctx.trainerRunning() && command === 'export';
    if (running) {
      // A download during training: the run loop continues from its checkpoint on a new device, as after a loss.
      this.ctx.device.retire();
      this.ctx.device.markLost(new DeviceLostError('replaced after running out of memory'));
      this.ctx.requests.wake();
    } else {
      this.ctx.edit.disposeJob();
      this.ctx.device.retire();
    }
    const what =
      command === 'export'
        ? 'This download needs more GPU memory than this device has.'
        : `The ${input ? qualityLabel(input.quality) : 'chosen'} quality level needs more GPU memory than this device has` +
          (input?.video
            ? ` for this ${input.image.width}×${input.image.height} px, ${input.video.source.clip.frames.length}-frame clip.`
            : input
              ? ` for this ${input.image.width}×${input.image.height} px photo.`
              : '.');
    const keptText =
      kept && !running
        ? `Your ${input?.video ? 'clip' : 'photo'}, prompts, model and ${kept.previous ? 'previous edit' : `edit (at step ${kept.checkpoint.step})`} are kept.`
        : `Your ${input?.video ? 'clip' : 'photo'}, prompts and model are kept.`;
    this.ctx.fail('out-of-memory', e.message, {
      command,
      hint:
        exportHint ??
        `${what} Choose a lower quality level (a smaller working size) or ${input?.video ? 'import the clip smaller' : 'a smaller photo'}, then start again. ${keptText}`,
    });
    if (running) return;
    if (kept) await this.keep(kept);
    else this.toIdle();
  }

  /** Nothing to keep: the page shows no edit. A run in progress passes through `recovering` on its way. */
  toIdle(): void {
    this.ctx.edit.input = null;
    this.ctx.edit.checkpoint = null;
    if (this.ctx.machine.is('training', 'pausing', 'paused', 'stopped', 'done')) this.ctx.machine.to('recovering');
    this.ctx.machine.to('idle');
  }

  /** Restores `kept` on a new device, shows it, and tells the page (`started`, `preview`, `kept`). */
  async keep(kept: KeptEdit): Promise<void> {
    const work = (async () => {
      this.ctx.machine.to('recovering');
      this.ctx.busy('restore', kept.previous ? 'Bringing back your previous edit…' : 'Keeping your edit…');
      // Set first: should bringing it back fail too, its checkpoint is still what a new run falls back to.
      this.ctx.edit.input = kept.input;
      this.ctx.edit.checkpoint = kept.checkpoint;
      this.ctx.edit.fallback = null;
      const model = this.ctx.models.current;
      if (!model) throw new Error('The CLIP model is not loaded.');
      await this.ctx.gpu(async () => {
        const engine = await this.ctx.device.open();
        this.ctx.edit.job = await this.ctx.restoreJob(engine, model, kept.input, kept.checkpoint.bytes);
      });
      const job = this.ctx.edit.job!;
      this.ctx.announceStart();
      await this.ctx.gpu(() => this.ctx.renderPreview());
      this.ctx.post({ type: 'kept', step: job.stepsDone, totalSteps: job.totalSteps, previous: kept.previous });
      this.ctx.machine.to(this.ctx.edit.restingState());
    })();
    this.keeping = work.catch((e: unknown) => {
      this.ctx.edit.disposeJob();
      this.ctx.device.retire();
      this.ctx.fail(e instanceof GpuOutOfMemoryError ? 'out-of-memory' : 'internal', errorMessage(e), {
        hint:
          'The edit could not be brought back on this GPU. A session you downloaded can be opened again once ' +
          'memory is free (close other GPU-heavy tabs or apps).',
      });
      this.toIdle();
    });
    try {
      await this.keeping;
    } finally {
      this.keeping = null;
    }
  }

  /** Reports a failed operation; an error that turns out to come from a lost device is reported as such. */
  async jobError(e: unknown, command: EditCommand['type']): Promise<void> {
    if (!(e instanceof GpuOutOfMemoryError) && !(e instanceof DeviceLostError) && (await this.ctx.isDeviceFailure(e))) {
      e = this.ctx.device.lost ?? new DeviceLostError(errorMessage(e));
    }
    if (e instanceof GpuOutOfMemoryError) {
      await this.outOfMemory(e, command);
    } else if (e instanceof DeviceLostError) {
      // An edit that is not training is restored at once by the loss callback (recoverIdle).
      this.ctx.fail('device-lost', errorMessage(e), { command, hint: 'Try again; a new GPU device will be opened.' });
    } else if (e instanceof NoWebGpuError) {
      this.ctx.fail('no-webgpu', errorMessage(e), { recoverable: false, command });
    } else {
      console.error(e);
      this.ctx.fail('internal', errorMessage(e), { command });
    }
  }
  /** After a run that never started: the previous edit is restored (`kept`), or there is none (idle). */
  async bringBackFallback(): Promise<void> {
    const fallback = this.ctx.edit.fallback;
    this.ctx.edit.fallback = null;
    if (fallback) await this.keep({ ...fallback, previous: true });
    else this.toIdle();
  }
}
