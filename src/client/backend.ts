// The `auto` probe: time a few real training steps on each available backend, pick the fastest.
import * as tf from '@tensorflow/tfjs';
import { createStore, get, set } from 'idb-keyval';
import type { BackendChoice, BackendName, ModelId } from '../shared/config';
import type { BackendProbe } from '../shared/protocol';
import { useBackend } from '../shared/ml/backend';
import { buildModel, IMAGE_SHAPE, NUM_CLASSES } from '../shared/ml/models';
import { trainLocal } from '../shared/ml/train';

export const PROBE_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
const PROBE_BATCH = 16;
const PROBE_STEPS = 3;
/** A backend whose first (compiling) step takes longer than this is timed on that step alone. */
const PROBE_SLOW_MS = 2500;

const probeStore = () => createStore('fedtab-probe', 'results');

/** Samples/s of real training steps on the current backend. */
async function timeTraining(model: ModelId): Promise<number> {
  const net = buildModel(model);
  const xs = tf.randomUniform([PROBE_BATCH * PROBE_STEPS, ...IMAGE_SHAPE]);
  const ys = tf.oneHot(tf.randomUniform([PROBE_BATCH * PROBE_STEPS], 0, NUM_CLASSES, 'int32'), NUM_CLASSES).toFloat();
  try {
    const opts = { epochs: 1, batchSize: PROBE_BATCH, lr: 0.01, mu: 0, seed: 0 };
    const first = await trainLocal(net, tf.slice(xs, 0, PROBE_BATCH), tf.slice(ys, 0, PROBE_BATCH), opts);
    if (first.trainMs > PROBE_SLOW_MS) return first.samplesPerSec;
    return (await trainLocal(net, xs, ys, opts)).samplesPerSec;
  } finally {
    net.dispose();
    tf.dispose([xs, ys]);
  }
}

export async function probeBackends(model: ModelId, candidates: readonly BackendName[] = PROBE_ORDER): Promise<BackendProbe[]> {
  const results: BackendProbe[] = [];
  for (const backend of candidates) {
    if (!(await useBackend(backend))) {
      results.push({ backend, ok: false, error: 'not available' });
      continue;
    }
    try {
      results.push({ backend, ok: true, samplesPerSec: Math.round(await timeTraining(model)) });
    } catch (e) {
      results.push({ backend, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return results;
}

export function fastest(probe: readonly BackendProbe[]): BackendName | null {
  const ok = probe.filter((p) => p.ok && p.samplesPerSec !== undefined);
  ok.sort((a, b) => b.samplesPerSec! - a.samplesPerSec!);
  return ok[0]?.backend ?? null;
}

async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? locks.request(name, fn) : fn();
}

export interface BackendSelection {
  backend: BackendName;
  probe: BackendProbe[];
  /** True when the probe results came from an earlier probe in this browser. */
  probeCached: boolean;
}

/**
 * Picks and activates a backend. `auto` probes once per (client kind, model, browser) and caches the result;
 * clients starting together take turns, so only the first pays for the probe.
 */
export async function selectBackend(choice: BackendChoice, model: ModelId, kind: string): Promise<BackendSelection> {
  if (choice !== 'auto') {
    if (!(await useBackend(choice))) throw new Error(`backend ${choice} is not available in this ${kind}`);
    return { backend: choice, probe: [], probeCached: false };
  }
  const key = `${kind}|${model}|${globalThis.navigator?.userAgent ?? 'node'}`;
  return withLock('fedtab-backend-probe', async () => {
    let probe = (await get<BackendProbe[]>(key, probeStore()).catch(() => undefined)) ?? null;
    const probeCached = probe !== null;
    if (!probe) {
      probe = await probeBackends(model);
      await set(key, probe, probeStore()).catch(() => undefined);
    }
    for (const p of [...probe].sort((a, b) => (b.samplesPerSec ?? -1) - (a.samplesPerSec ?? -1))) {
      if (p.ok && (await useBackend(p.backend))) return { backend: p.backend, probe, probeCached };
    }
    throw new Error('no TensorFlow.js backend could be initialised');
  });
}
