// The driver's queue depth (inFlightDepth): the steps it keeps in flight for a step time and a target.
import { describe, expect, it } from 'vitest';
import { inFlightDepth, MAX_IN_FLIGHT, MIN_IN_FLIGHT } from './driver';

describe('inFlightDepth', () => {
  it('keeps about the target of work queued', () => {
    expect(inFlightDepth(1.3, 40)).toBe(31); // lab-gpt R = 1 on an H200
    expect(inFlightDepth(4.4, 40)).toBe(10); // R = 8
    expect(inFlightDepth(10, 40)).toBe(4);
  });

  it('stays within its bounds', () => {
    expect(inFlightDepth(0.05, 40)).toBe(MAX_IN_FLIGHT);
    expect(inFlightDepth(155, 40)).toBe(MIN_IN_FLIGHT); // GPT-2 small
    expect(inFlightDepth(2000, 40)).toBe(MIN_IN_FLIGHT); // a CPU fallback adapter
  });

  it('falls back to the minimum without a usable step time', () => {
    for (const ms of [0, -1, NaN, Infinity]) expect(inFlightDepth(ms, 40)).toBe(MIN_IN_FLIGHT);
  });
});
