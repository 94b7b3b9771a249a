// Simulated bad clients (spec §7), for teaching and robustness experiments. Honest client code never imports the
// crafting functions directly: local-round.ts calls them only for a slot that `attackerSlots(config)` names, and
// resolveConfig refuses an attack without a fraction of attackers (and attackers without an attack).
import type { AttackId, FederationConfig } from '../shared/config';
import { createRng } from '../shared/prng';
import { isTargeted, TARGET_LABEL, TARGET_SOURCE } from '../shared/targeted-attack';
import { l2Norm } from '../shared/weights';

/** The label map an attacker trains with, or null for attacks that train honestly. */
export function poisonedLabelMap(attack: AttackId, numClasses: number): number[] | null {
  if (attack === 'label-flip') return Array.from({ length: numClasses }, (_, y) => numClasses - 1 - y);
  if (isTargeted(attack)) return Array.from({ length: numClasses }, (_, y) => (y === TARGET_SOURCE ? TARGET_LABEL : y));
  return null;
}

/** The attack strength in use: config.attackScale, or the attack's default when that is 0. */
export function attackScale(cfg: Pick<FederationConfig, 'attack' | 'attackScale'>, clientsThisRound: number): number {
  if (cfg.attackScale > 0) return cfg.attackScale;
  switch (cfg.attack) {
    case 'sign-flip':
      return 4; // spec c ∈ {1, 4}: the stronger one
    case 'gaussian':
      return 10; // ‖Δ^mal‖ ≈ 10× a benign norm
    case 'scaling':
      return clientsThisRound; // γ = m/η_g, η_g = 1
    case 'alie':
      return 1; // z ≈ 1
    default:
      return 1;
  }
}

export interface CraftInput {
  attack: AttackId;
  scale: number;
  /** The attacker's own update (trained on poisoned labels where the attack poisons them). */
  own: Float32Array;
  seed: number;
  /** ALIE: the honest updates of every colluding attacker in this round, own included. */
  colluders?: readonly Float32Array[];
}

/** The update an attacker sends instead of its own (a fresh array; `own` is not modified). */
export function craftUpdate({ attack, scale, own, seed, colluders }: CraftInput): Float32Array {
  const out = new Float32Array(own.length);
  switch (attack) {
    case 'sign-flip':
      for (let i = 0; i < own.length; i++) out[i] = -scale * own[i];
      return out;
    case 'scaling':
      for (let i = 0; i < own.length; i++) out[i] = scale * own[i];
      return out;
    case 'gaussian': {
      // The attacker knows only its own data, so its own norm stands in for the median benign norm.
      const sigma = (scale * l2Norm(own)) / Math.sqrt(Math.max(1, own.length));
      const rng = createRng(seed);
      for (let i = 0; i < own.length; i++) out[i] = sigma * rng.normal();
      return out;
    }
    case 'alie': {
      // Baruch et al.: the colluders estimate μ and σ per coordinate from their own honest updates, send μ − zσ.
      const set = colluders && colluders.length > 0 ? colluders : [own];
      const n = set.length;
      for (let i = 0; i < own.length; i++) {
        let mean = 0;
        for (const d of set) mean += d[i];
        mean /= n;
        let v = 0;
        for (const d of set) v += (d[i] - mean) * (d[i] - mean);
        out[i] = mean - scale * Math.sqrt(v / n);
      }
      return out;
    }
    case 'label-flip':
    case 'targeted-label-flip':
    case 'none':
      out.set(own);
      return out;
  }
}

/** Honest-looking losses: each epoch 5% below the previous one, and a flat last epoch (no divergence, no variation). */
export function forgeLosses(epochLosses: readonly number[], batchLosses: readonly number[]): { epochLosses: number[]; batchLosses: number[] } {
  const first = epochLosses[0] ?? 1;
  const epochs = epochLosses.map((_, e) => first * 0.95 ** e);
  const last = epochs.at(-1) ?? first;
  return { epochLosses: epochs, batchLosses: batchLosses.map(() => last) };
}

/** Whether the attack's attackers exchange their honest updates within a round (ALIE), so must train at once. */
export function attackColludes(attack: AttackId): boolean {
  return attack === 'alie';
}

/** How colluding ALIE attackers share their honest updates within a round. */
export interface Colluders {
  exchange(key: string, slot: number, delta: Float32Array, expectedSlots: readonly number[], timeoutMs: number): Promise<Float32Array[]>;
  close(): void;
}

interface ChannelLike {
  postMessage(msg: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  close(): void;
}

/** Colluders over a BroadcastChannel (same origin: tabs, workers, or Node's in-process channels). */
export function channelColluders(channel: ChannelLike): Colluders {
  const inbox = new Map<string, Map<number, Float32Array>>();
  const waiters = new Set<() => void>();
  channel.onmessage = (ev) => {
    const m = ev.data as { key?: unknown; slot?: unknown; delta?: unknown };
    if (typeof m?.key !== 'string' || typeof m.slot !== 'number' || !(m.delta instanceof Float32Array)) return;
    if (!inbox.has(m.key)) inbox.set(m.key, new Map());
    inbox.get(m.key)!.set(m.slot, m.delta);
    if (inbox.size > 8) inbox.delete(inbox.keys().next().value!);
    for (const w of waiters) w();
  };
  return {
    async exchange(key, slot, delta, expectedSlots, timeoutMs) {
      channel.postMessage({ key, slot, delta });
      if (!inbox.has(key)) inbox.set(key, new Map());
      const got = inbox.get(key)!;
      got.set(slot, delta);
      const done = () => expectedSlots.every((s) => got.has(s));
      if (!done()) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, timeoutMs);
          function finish() {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
          function check() {
            if (done()) finish();
          }
          waiters.add(check);
        });
      }
      inbox.delete(key); // a colluder's message arriving later starts a new entry, trimmed with the rest
      return [...got.values()];
    },
    close: () => channel.close(),
  };
}
