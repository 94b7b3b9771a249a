// Shared fixtures for the aggregation tests (not a test file itself).
import { expect } from 'vitest';
import type { LayerSpec } from '../weights';
import type { AggregationInput, StrategyUpdate } from './strategy';

/** Two layers of 2 and 1 values: the shape of every hand-computed example. */
export const LAYERS_2_1: LayerSpec[] = [
  { name: 'dense/kernel', shape: [2] },
  { name: 'dense/bias', shape: [1] },
];

export function upd(clientId: string, delta: number[], extra: Partial<StrategyUpdate> = {}): StrategyUpdate {
  return {
    clientId,
    slot: 0,
    numSamples: 1,
    delta: Float32Array.from(delta),
    epochLosses: [1, 0.8],
    batchLosses: [0.8, 0.8],
    steps: 10,
    ...extra,
  };
}

export function inp(updates: StrategyUpdate[], extra: Partial<AggregationInput> = {}): AggregationInput {
  const len = updates[0]?.delta.length ?? 3;
  return {
    global: new Float32Array(len),
    layers: len === 3 ? LAYERS_2_1 : [{ name: 'w', shape: [len] }],
    updates,
    round: 1,
    numClients: Math.max(updates.length, 1),
    seed: 7,
    ...extra,
  };
}

export const arr = (v: ArrayLike<number>): number[] => Array.from(v);

/** Deep copy of an input (typed arrays included) for purity checks. */
export function cloneInput(i: AggregationInput): AggregationInput {
  return structuredClone(i) as AggregationInput;
}

/** Element-wise toBeCloseTo (float32 results: 5 decimals by default). */
export function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) >= 10 ** -digits / 2) {
      throw new Error(`index ${i}: got ${actual[i]}, want ${expected[i]} (±${10 ** -digits / 2}); all: [${Array.from(actual).join(', ')}]`);
    }
  }
}
