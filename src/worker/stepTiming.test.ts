import { describe, expect, it } from 'vitest';
import { fullImageStepsIn, runSeconds, StepTimer } from './stepTiming';

describe('step timing', () => {
  it('counts the full-image steps of a range', () => {
    expect(fullImageStepsIn(0, 1000, 75)).toBe(14); // steps 0, 75, …, 975 (spec §A.3)
    expect(fullImageStepsIn(1, 75, 75)).toBe(0);
    expect(fullImageStepsIn(1, 76, 75)).toBe(1);
    expect(fullImageStepsIn(75, 76, 75)).toBe(1);
    expect(fullImageStepsIn(10, 10, 75)).toBe(0);
    expect(fullImageStepsIn(0, 10, 1)).toBe(10);
    for (let from = 0; from < 30; from++) {
      for (let to = from; to < 40; to++) {
        let n = 0;
        for (let s = from; s < to; s++) if (s % 7 === 0) n++;
        expect(fullImageStepsIn(from, to, 7), `${from}..${to}`).toBe(n);
      }
    }
  });

  it('leaves out the compiling first step, times crop and full-image steps apart, and prices what is left', () => {
    const t = new StepTimer();
    expect(t.secondsLeft(0, 100, 10)).toBeNull();
    t.record(30, true); // step 0: compiles every kernel
    expect(t.summary.measured).toBe(0);
    for (let i = 1; i < 10; i++) t.record(i % 2 ? 1.0 : 1.2, false);
    expect(t.summary.cropSeconds).toBe(1.0); // the median of 1.0 ×5, 1.2 ×4
    expect(t.summary.fullSeconds).toBeNull();
    // 90 steps left (10..99): 9 full-image steps, counted as 2 crop steps each until one is measured.
    expect(t.secondsLeft(10, 100, 10)).toBeCloseTo(81 * 1.0 + 9 * 2.0, 9);
    t.record(2.5, true);
    expect(t.secondsLeft(11, 100, 10)).toBeCloseTo(81 * 1.0 + 8 * 2.5, 9);
    expect(t.stepsPerSecond(10)).toBeCloseTo(10 / (9 * 1.0 + 2.5), 9);
    t.reset();
    t.record(9, false); // a new device compiles again
    expect(t.summary.measured).toBe(0);
  });

  it('follows the recent steps when the speed changes', () => {
    const t = new StepTimer();
    t.record(5, true);
    for (let i = 0; i < 30; i++) t.record(2, false);
    for (let i = 0; i < 20; i++) t.record(1, false);
    expect(t.summary.cropSeconds).toBe(1);
    expect(runSeconds(t.summary, 0, 4, 100)).toBe(1 * 3 + 2 * 1); // step 0 is a full-image step
  });
});
