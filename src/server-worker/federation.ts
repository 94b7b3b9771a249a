// The coordinator's state machine: registry, rounds, deadlines, validation, aggregation, persistence.
// No tf and no browser APIs here: the SharedWorker injects them, and Node tests inject fakes.
import { ConfigError, resolveConfig, type FederationConfig } from '../shared/config';
import { labelHistogram, meanTotalVariation } from '../shared/partition';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  parseHeartbeat,
  parseRegister,
  parseUpdate,
  type BroadcastMessage,
  type RejectReason,
  type UpdateMessage,
} from '../shared/protocol';
import { deriveSeed } from '../shared/prng';
import { attackerSlots, sampleSlots, slotIndices, stragglerSlots } from '../shared/run-plan';
import { isTargeted } from '../shared/targeted-attack';
import type { ClientRoundRecord, ClientRow, CoordinatorStatus, DroppedClient, Rejection, RoundRecord, RunState } from '../shared/status';
import { initWeights, l2Norm, type LayerSpec } from '../shared/weights';
import { applyStep } from '../shared/strategies/common';
import { createStrategy, paramsFromConfig, type AggregationInput, type Strategy } from '../shared/strategies/strategy';
import type { UpdateResult } from './api';

export interface EvalResult {
  accuracy: number;
  loss: number;
  recall: number[];
  /** Share of test images of class TARGET_SOURCE (7) classified as TARGET_LABEL (1). */
  targetedAsr: number;
  numTensors: number;
}

/** What the coordinator needs that depends on tf and the dataset. */
export interface Task {
  numClasses: number;
  trainLabels: Uint8Array;
  layers: LayerSpec[];
  /** On the test set (its first config.evalSamples images when that is > 0). */
  evaluate(weights: Float32Array): Promise<EvalResult>;
  /** FLTrust's Δ₀: the clients' local procedure on the server root set, from `weights`. */
  rootUpdate(weights: Float32Array, round: number): Promise<Float32Array>;
  /** Mean loss on the first `samples` images of the server validation split, for each weight vector. */
  validationLosses(weights: Float32Array[], samples: number): Promise<number[]>;
  dispose(): void;
}

export interface PersistedRun {
  runId: string;
  config: FederationConfig;
  state: RunState;
  round: number;
  numPartitions: number;
  history: RoundRecord[];
  /** What the aggregation strategy carries between rounds (absent in runs stored before strategies kept state). */
  strategyState?: unknown;
}

export interface RunStore {
  save(run: PersistedRun, weights: Float32Array): Promise<void>;
  load(): Promise<{ run: PersistedRun; weights: Float32Array } | null>;
  clear(): Promise<void>;
}

export interface FederationDeps {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  broadcast(msg: BroadcastMessage): void;
  loadTask(config: FederationConfig): Promise<Task>;
  store: RunStore;
  /** Calls onGone once the client's page or worker has gone (Web Locks in the browser). */
  watchClient(clientId: string, onGone: () => void): void;
  coordinatorBackend(): string | null;
}

export const HEARTBEAT_TIMEOUT_MS = 70_000;
/** When resuming, how long to wait for every slot to be taken once minClients are back. */
export const RESUME_GRACE_MS = 5_000;
const MAX_RECENT_REJECTIONS = 50;

interface Run extends PersistedRun {
  weights: Float32Array;
  strategy: Strategy;
  task: Task | null;
  slotHolders: Array<string | null>;
  slotSamples: number[];
  slotHistograms: number[][];
  heterogeneityTV: number | null;
  attackerSlots: number[];
  /** Set once a resumed run has waited its grace period. */
  graceUntil: number | null;
}

interface RoundInProgress {
  round: number;
  startedAt: number;
  deadline: number;
  participants: Set<string>;
  slots: Map<string, number>;
  received: Map<string, UpdateMessage>;
  dropped: Map<string, string>;
  timer: unknown;
}

export class Federation {
  private clients = new Map<string, ClientRow>();
  private run: Run | null = null;
  private current: RoundInProgress | null = null;
  private state: RunState = 'idle';
  private message = 'waiting for Start';
  private error: string | null = null;
  private pauseRequested = false;
  private finishing = false;
  private runsStarted = 0;
  private rejections: CoordinatorStatus['rejections'] = { total: 0, byReason: {}, recent: [] };
  private sweepTimer: unknown;
  private waitTimer: unknown = null;
  /** The round most recently closed (or closing): its missing participants' updates are late, not misdirected. */
  private closedRound: RoundInProgress | null = null;

  constructor(private deps: FederationDeps) {
    this.sweepTimer = deps.setTimer(() => this.sweep(), 2000);
  }

  /** Restores the stored run; a run that was in progress resumes once clients are back. */
  async restore(): Promise<void> {
    const stored = await this.deps.store.load().catch(() => null);
    if (!stored) return;
    const { run, weights } = stored;
    this.run = this.newRun(run, weights);
    if (run.state === 'done' || run.state === 'paused') {
      this.setState(run.state, run.state === 'done' ? `finished ${run.round} rounds` : `paused after round ${run.round}`);
      return;
    }
    this.setState('waiting', `resuming after round ${run.round}: waiting for clients`);
    await this.prepareTask();
    this.maybeBegin();
  }

  status(): CoordinatorStatus {
    const run = this.run;
    return {
      state: this.state,
      message: this.message,
      runId: run?.runId ?? null,
      round: this.current?.round ?? run?.round ?? 0,
      config: run?.config ?? null,
      numPartitions: run?.numPartitions ?? 0,
      heterogeneityTV: run?.heterogeneityTV ?? null,
      attackerSlots: run?.attackerSlots ?? [],
      coordinatorBackend: this.deps.coordinatorBackend(),
      history: run?.history ?? [],
      clients: [...this.clients.values()],
      rejections: this.rejections,
      error: this.error,
    };
  }

  // ---- client messages -------------------------------------------------

  register(raw: unknown): { clientId: string } {
    const msg = this.guard(raw, parseRegister);
    const existing = this.clients.get(msg.clientId);
    this.clients.set(msg.clientId, {
      clientId: msg.clientId,
      kind: msg.kind,
      backend: msg.backend,
      probe: msg.probe,
      state: 'idle',
      slot: existing?.slot ?? null,
      numSamples: existing?.numSamples ?? 0,
      labelHistogram: existing?.labelHistogram ?? null,
      lastUpdateNorm: existing?.lastUpdateNorm ?? null,
      lastWeight: existing?.lastWeight ?? null,
      reliability: existing?.reliability ?? null,
      samplesPerSec: null,
      localLoss: null,
      numTensors: 0,
      lastSeen: this.deps.now(),
      error: null,
    });
    if (!existing) this.deps.watchClient(msg.clientId, () => this.clientGone(msg.clientId, 'disconnected'));
    this.assignFreeSlots();
    this.maybeBegin();
    return { clientId: msg.clientId };
  }

  heartbeat(raw: unknown): void {
    const msg = this.guard(raw, parseHeartbeat);
    const row = this.clients.get(msg.clientId);
    if (!row) return this.reject('unknown-client', `heartbeat from unregistered client ${msg.clientId}`, msg.clientId);
    Object.assign(row, {
      state: msg.state,
      backend: msg.backend,
      probe: msg.probe,
      samplesPerSec: msg.samplesPerSec ?? row.samplesPerSec,
      localLoss: msg.localLoss ?? row.localLoss,
      numTensors: msg.numTensors,
      error: msg.error,
      lastSeen: this.deps.now(),
    });
  }

  submitUpdate(raw: unknown): UpdateResult {
    const cur = this.current;
    const clientId = typeof (raw as { clientId?: unknown })?.clientId === 'string' ? (raw as { clientId: string }).clientId : null;
    try {
      if (!cur || !this.run || this.finishing) {
        throw new ProtocolError('wrong-round', 'no round is accepting updates');
      }
      const msg = parseUpdate(raw, {
        runId: this.run.runId,
        round: cur.round,
        layers: this.run.task?.layers ?? [],
        registered: (id) => this.clients.has(id),
        participants: cur.participants,
        received: new Set(cur.received.keys()),
        deadline: cur.deadline,
        now: this.deps.now(),
        needsControl: this.run.config.algorithm === 'scaffold',
      });
      cur.received.set(msg.clientId, msg);
      const row = this.clients.get(msg.clientId);
      if (row) row.lastSeen = this.deps.now();
      this.message = `round ${cur.round}: ${cur.received.size}/${cur.participants.size} updates`;
      this.maybeFinishRound();
      return { accepted: true };
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      if (e.reason === 'late' && cur && clientId && !cur.dropped.has(clientId)) cur.dropped.set(clientId, 'late');
      const err = this.isLateForClosedRound(e, raw, clientId)
        ? new ProtocolError('late', `update for round ${this.closedRound!.round} arrived after that round closed`)
        : e;
      this.reject(err.reason, err.message, clientId);
      return { accepted: false, reason: err.reason, detail: err.message };
    }
  }

  /** The deadline timer closes a round at deadline + 1 ms, so a missed deadline shows up as a stale round number. */
  private isLateForClosedRound(e: ProtocolError, raw: unknown, clientId: string | null): boolean {
    const closed = this.closedRound;
    const msg = raw as { runId?: unknown; round?: unknown };
    return (
      e.reason === 'wrong-round' &&
      closed !== null &&
      clientId !== null &&
      msg.runId === this.run?.runId &&
      msg.round === closed.round &&
      closed.participants.has(clientId) &&
      !closed.received.has(clientId)
    );
  }

  // ---- controls ----------------------------------------------------------

  async start(partial?: unknown): Promise<void> {
    if (partial === undefined) {
      if (this.state !== 'paused' || !this.run) throw new ConfigError('nothing to resume: pass a config to start a run');
      this.pauseRequested = false;
      this.setState('waiting', `resuming after round ${this.run.round}`);
      await this.prepareTask();
      this.maybeBegin();
      return;
    }
    if (['preparing', 'waiting', 'running'].includes(this.state)) {
      throw new ConfigError(`a run is already ${this.state}; pause or reset it first`);
    }
    const config = resolveConfig(partial);
    this.clearRun();
    // Time plus a counter: a reset and a restart within one millisecond must not reuse the old run's id.
    const runId = `run-${this.deps.now().toString(36)}-${++this.runsStarted}`;
    this.run = this.newRun({ runId, config, state: 'preparing', round: 0, numPartitions: 0, history: [] }, new Float32Array(0));
    this.error = null;
    this.setState('preparing', `loading ${config.dataset}`);
    await this.prepareTask();
    if (!this.run?.task) return;
    this.run.weights = initWeights(this.run.task.layers, deriveSeed(config.seed, 'init'));
    this.setState('waiting', this.waitingMessage());
    this.maybeBegin();
  }

  pause(): void {
    if (this.state === 'waiting' || (this.state === 'running' && !this.current)) {
      this.setState('paused', `paused after round ${this.run?.round ?? 0}`);
      void this.persist();
    } else if (this.state === 'running') {
      this.pauseRequested = true;
      this.message = `pausing after round ${this.current?.round}`;
    }
  }

  async reset(): Promise<void> {
    this.clearRun();
    for (const row of this.clients.values()) {
      Object.assign(row, { slot: null, lastUpdateNorm: null, lastWeight: null, reliability: null, numSamples: 0, labelHistogram: null });
    }
    this.rejections = { total: 0, byReason: {}, recent: [] };
    this.error = null;
    await this.deps.store.clear();
    this.setState('idle', 'reset; waiting for Start');
  }

  // ---- internals ---------------------------------------------------------

  private newRun(p: PersistedRun, weights: Float32Array): Run {
    const strategy = createStrategy(p.config.algorithm, paramsFromConfig(p.config));
    return {
      ...p,
      weights,
      strategy,
      strategyState: p.strategyState ?? strategy.initState(),
      task: null,
      slotHolders: Array.from({ length: p.numPartitions }, () => null),
      slotSamples: [],
      slotHistograms: [],
      heterogeneityTV: null,
      attackerSlots: attackerSlots(p.config, p.numPartitions),
      graceUntil: null,
    };
  }

  private clearRun(): void {
    if (this.current) this.deps.clearTimer(this.current.timer);
    if (this.waitTimer !== null) this.deps.clearTimer(this.waitTimer);
    this.waitTimer = null;
    this.current = null;
    this.closedRound = null;
    this.finishing = false;
    this.pauseRequested = false;
    if (this.run) {
      this.deps.broadcast({ v: PROTOCOL_VERSION, type: 'stop', runId: this.run.runId });
      this.run.task?.dispose();
    }
    this.run = null;
  }

  private async prepareTask(): Promise<void> {
    const run = this.run!;
    if (run.task) return;
    try {
      run.task = await this.deps.loadTask(run.config);
    } catch (e) {
      this.fail(`could not load ${run.config.dataset}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (run.numPartitions > 0) this.computeSlots();
  }

  private fail(error: string): void {
    this.error = error;
    this.setState('error', error);
  }

  private setState(state: RunState, message: string): void {
    this.state = state;
    this.message = message;
    if (this.run) this.run.state = state;
  }

  private live(): ClientRow[] {
    return [...this.clients.values()];
  }

  private waitingMessage(): string {
    const run = this.run!;
    const need = run.numPartitions || this.requiredClients();
    return `waiting for clients: ${this.live().length}/${need} registered`;
  }

  private requiredClients(): number {
    const cfg = this.run!.config;
    return cfg.clients > 0 ? cfg.clients : cfg.minClients;
  }

  /** Hands free partition slots to registered clients that hold none (first come, first served). */
  private assignFreeSlots(): void {
    const run = this.run;
    if (!run || run.numPartitions === 0) return;
    for (const row of this.live()) {
      if (row.slot !== null && run.slotHolders[row.slot] === row.clientId) continue;
      const free = run.slotHolders.indexOf(null);
      if (free < 0) {
        row.slot = null;
        continue;
      }
      run.slotHolders[free] = row.clientId;
      row.slot = free;
      row.numSamples = run.slotSamples[free] ?? 0;
      row.labelHistogram = run.slotHistograms[free] ?? null;
    }
  }

  private computeSlots(): void {
    const run = this.run!;
    const task = run.task!;
    const parts = Array.from({ length: run.numPartitions }, (_, s) =>
      slotIndices(task.trainLabels, task.numClasses, run.config, run.numPartitions, s),
    );
    run.slotSamples = parts.map((p) => p.length);
    run.slotHistograms = parts.map((p) => labelHistogram(task.trainLabels, p, task.numClasses));
    run.heterogeneityTV = meanTotalVariation(task.trainLabels, parts, task.numClasses);
    run.attackerSlots = attackerSlots(run.config, run.numPartitions);
    for (const row of this.live()) {
      if (row.slot !== null && row.slot < run.numPartitions) {
        row.numSamples = run.slotSamples[row.slot];
        row.labelHistogram = run.slotHistograms[row.slot];
      }
    }
  }

  /** Moves from `waiting` to running once enough clients are here. */
  private maybeBegin(): void {
    const run = this.run;
    if (this.state !== 'waiting' || !run?.task || this.current) return;
    const live = this.live().length;
    if (run.numPartitions === 0) {
      if (live < this.requiredClients()) return void (this.message = this.waitingMessage());
      run.numPartitions = run.config.clients > 0 ? run.config.clients : live;
      run.slotHolders = Array.from({ length: run.numPartitions }, () => null);
      try {
        this.computeSlots();
      } catch (e) {
        return this.fail(`cannot partition ${run.config.dataset}: ${e instanceof Error ? e.message : String(e)}`);
      }
      const problem = checkRoundSize(run.config, run.numPartitions);
      if (problem) return this.fail(problem);
    }
    this.assignFreeSlots();
    const held = run.slotHolders.filter((h) => h !== null).length;
    if (held < Math.min(run.config.minClients, run.numPartitions)) return void (this.message = this.waitingMessage());
    if (held < run.numPartitions && run.round > 0) {
      // Resuming: give the other clients a moment to come back before going on without them.
      run.graceUntil ??= this.deps.now() + RESUME_GRACE_MS;
      if (this.deps.now() < run.graceUntil) {
        this.waitTimer ??= this.deps.setTimer(() => {
          this.waitTimer = null;
          this.maybeBegin();
        }, run.graceUntil - this.deps.now());
        return void (this.message = this.waitingMessage());
      }
    }
    run.graceUntil = null;
    this.setState('running', `starting round ${run.round + 1}`);
    this.nextRound();
  }

  private nextRound(): void {
    const run = this.run!;
    if (run.round >= run.config.rounds) {
      this.setState('done', `finished ${run.round} rounds; final accuracy ${(run.history.at(-1)?.accuracy ?? 0).toFixed(4)}`);
      void this.persist();
      return;
    }
    if (this.pauseRequested) {
      this.pauseRequested = false;
      this.setState('paused', `paused after round ${run.round}`);
      void this.persist();
      return;
    }
    this.assignFreeSlots();
    const active = run.slotHolders.flatMap((h, s) => (h !== null ? [s] : []));
    if (active.length < Math.min(run.config.minClients, run.numPartitions) || active.length === 0) {
      this.setState('waiting', this.waitingMessage());
      return;
    }
    const round = run.round + 1;
    const chosen = sampleSlots(active, run.config.fraction, run.config.seed, round);
    const slots = new Map(chosen.map((s) => [run.slotHolders[s]!, s]));
    const now = this.deps.now();
    const deadline = now + run.config.roundDeadlineMs;
    this.current = {
      round,
      startedAt: now,
      deadline,
      participants: new Set(slots.keys()),
      slots,
      received: new Map(),
      dropped: new Map(),
      timer: this.deps.setTimer(() => void this.finishRound(), run.config.roundDeadlineMs + 1),
    };
    this.message = `round ${round}: training on ${slots.size} clients`;
    this.deps.broadcast({
      v: PROTOCOL_VERSION,
      type: 'round',
      runId: run.runId,
      round,
      config: run.config,
      assignments: Object.fromEntries(slots),
      numPartitions: run.numPartitions,
      deadline,
      layers: run.task!.layers,
      weights: run.weights,
      ...(run.strategy.roundPayload?.(run.strategyState) ?? {}),
    });
  }

  private maybeFinishRound(): void {
    const cur = this.current;
    if (!cur || this.finishing) return;
    const waitingOn = [...cur.participants].filter((id) => !cur.received.has(id) && !cur.dropped.has(id));
    if (waitingOn.length === 0) void this.finishRound();
  }

  private async finishRound(): Promise<void> {
    const cur = this.current;
    const run = this.run;
    if (!cur || !run?.task || this.finishing) return;
    this.finishing = true;
    this.closedRound = cur;
    this.deps.clearTimer(cur.timer);
    for (const id of cur.participants) if (!cur.received.has(id) && !cur.dropped.has(id)) cur.dropped.set(id, 'deadline');
    const cfg = run.config;
    const stragglers = stragglerSlots(cfg, [...cur.slots.values()], cur.round);
    const stragglerOf = (id: string) => stragglers.get(cur.slots.get(id) ?? -1) ?? null;
    const roleOf = (slot: number | null) => (slot !== null && run.attackerSlots.includes(slot) ? 'attacker' : 'honest');
    // FedProx's protocol: FedAvg drops partial work; every other strategy aggregates it.
    let updates = [...cur.received.values()];
    if (run.strategy.name === 'fedavg') {
      for (const u of updates) if (stragglerOf(u.clientId) === 'partial') cur.dropped.set(u.clientId, 'straggler: partial work (fedavg drops it)');
      updates = updates.filter((u) => !cur.dropped.has(u.clientId));
    }
    const clients: ClientRoundRecord[] = [];
    let flagged: RoundRecord['flagged'] = [];
    const t0Agg = this.deps.now();
    if (updates.length > 0) {
      let result;
      try {
        const input: AggregationInput = {
          global: run.weights,
          layers: run.task.layers,
          updates,
          round: cur.round,
          numClients: run.numPartitions,
          seed: cfg.seed,
        };
        if (usesRootUpdate(cfg)) input.serverUpdate = await run.task.rootUpdate(run.weights, cur.round);
        if (cfg.algorithm === 'fed-adaptive-next' && cfg.validation > 0) {
          const losses = await run.task.validationLosses([run.weights, ...updates.map((u) => applyStep(run.weights, u.delta, 1))], cfg.validation);
          const base = Math.max(losses[0], 1e-12);
          input.validationIncrease = Object.fromEntries(updates.map((u, k) => [u.clientId, (losses[k + 1] - losses[0]) / base]));
        }
        if (this.run !== run) return;
        const out = run.strategy.aggregate(input, run.strategyState);
        result = out.result;
        run.weights = result.weights;
        run.strategyState = out.state;
      } catch (e) {
        this.finishing = false;
        this.current = null;
        return this.fail(`aggregation failed in round ${cur.round}: ${e instanceof Error ? e.message : String(e)}`);
      }
      flagged = result.flagged;
      const flagOf = new Map(flagged.map((f) => [f.clientId, f.reason]));
      for (const u of updates) {
        const row = this.clients.get(u.clientId);
        const slot = cur.slots.get(u.clientId)!;
        const rec: ClientRoundRecord = {
          clientId: u.clientId,
          kind: row?.kind ?? 'tab',
          slot,
          backend: u.backend,
          numSamples: u.numSamples,
          weight: result.clientWeights[u.clientId] ?? 0,
          updateNorm: l2Norm(u.delta),
          trainLoss: u.epochLosses.at(-1) ?? NaN,
          samplesPerSec: u.samplesPerSec,
          numTensors: u.numTensors,
          steps: u.steps,
          role: roleOf(slot),
          straggler: stragglerOf(u.clientId),
          reliability: result.reliability?.[u.clientId] ?? null,
          flagged: flagOf.get(u.clientId) ?? null,
        };
        clients.push(rec);
        if (row) Object.assign(row, { lastUpdateNorm: rec.updateNorm, lastWeight: rec.weight, localLoss: rec.trainLoss, reliability: rec.reliability });
      }
    }
    const aggregateMs = this.deps.now() - t0Agg;
    this.message = `round ${cur.round}: evaluating`;
    const t0 = this.deps.now();
    let evalResult: EvalResult;
    try {
      evalResult = await run.task.evaluate(run.weights);
    } catch (e) {
      this.finishing = false;
      this.current = null;
      return this.fail(`evaluation failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.run !== run) return; // reset while evaluating
    const record: RoundRecord = {
      round: cur.round,
      accuracy: evalResult.accuracy,
      loss: evalResult.loss,
      recall: evalResult.recall,
      seconds: (this.deps.now() - cur.startedAt) / 1000,
      evalMs: this.deps.now() - t0,
      participants: [...cur.participants],
      dropped: [...cur.dropped].map(([clientId, reason]): DroppedClient => {
        const slot = cur.slots.get(clientId) ?? null;
        return { clientId, slot, reason, role: roleOf(slot), straggler: stragglerOf(clientId) };
      }),
      clients,
      flagged,
      attackSuccessRate: isTargeted(cfg.attack) ? evalResult.targetedAsr : null,
      aggregateMs,
      coordinatorTensors: evalResult.numTensors,
    };
    run.history.push(record);
    run.round = cur.round;
    this.current = null;
    this.finishing = false;
    await this.persist();
    if (this.run !== run || this.state !== 'running') return;
    this.nextRound();
  }

  private async persist(): Promise<void> {
    const run = this.run;
    if (!run || run.numPartitions === 0) return;
    const { runId, config, state, round, numPartitions, history, strategyState } = run;
    await this.deps.store.save({ runId, config, state, round, numPartitions, history, strategyState }, run.weights).catch((e: unknown) => {
      this.message = `could not save the run: ${e instanceof Error ? e.message : String(e)}`;
    });
  }

  private clientGone(clientId: string, reason: string): void {
    const row = this.clients.get(clientId);
    if (!row) return;
    this.clients.delete(clientId);
    const run = this.run;
    if (run && row.slot !== null && run.slotHolders[row.slot] === clientId) run.slotHolders[row.slot] = null;
    const cur = this.current;
    if (cur?.participants.has(clientId) && !cur.received.has(clientId) && !cur.dropped.has(clientId)) {
      cur.dropped.set(clientId, reason);
      this.maybeFinishRound();
    }
  }

  private sweep(): void {
    const cutoff = this.deps.now() - HEARTBEAT_TIMEOUT_MS;
    for (const row of this.live()) if (row.lastSeen < cutoff) this.clientGone(row.clientId, 'heartbeat timeout');
    this.sweepTimer = this.deps.setTimer(() => this.sweep(), 2000);
  }

  private guard<T>(raw: unknown, parse: (m: unknown) => T): T {
    try {
      return parse(raw);
    } catch (e) {
      if (e instanceof ProtocolError) {
        const id = (raw as { clientId?: unknown })?.clientId;
        this.reject(e.reason, e.message, typeof id === 'string' ? id.slice(0, 64) : null);
      }
      throw e;
    }
  }

  private reject(reason: RejectReason, detail: string, clientId: string | null): void {
    const r = this.rejections;
    r.total++;
    r.byReason[reason] = (r.byReason[reason] ?? 0) + 1;
    const entry: Rejection = { at: this.deps.now(), clientId, round: this.current?.round ?? this.run?.round ?? 0, reason, detail };
    r.recent = [entry, ...r.recent].slice(0, MAX_RECENT_REJECTIONS);
  }

  /** Stops timers; for tests. */
  dispose(): void {
    this.deps.clearTimer(this.sweepTimer);
    this.clearRun();
  }
}

/** FLTrust, and Fed-Adaptive-Next with the root-update reference, need the server's own update on its root set. */
export function usesRootUpdate(cfg: FederationConfig): boolean {
  return cfg.algorithm === 'fltrust' || (cfg.algorithm === 'fed-adaptive-next' && cfg.reference === 'root-update');
}

/** Krum needs n > 2f + 2 received updates every round; say so before round 1 rather than failing in it. */
export function checkRoundSize(cfg: FederationConfig, numPartitions: number): string | null {
  if (cfg.algorithm !== 'krum' && cfg.algorithm !== 'multi-krum') return null;
  const n = Math.max(1, Math.ceil(cfg.fraction * numPartitions));
  const f = cfg.byzantine;
  if (n > 2 * f + 2) return null;
  return `${cfg.algorithm} needs more than 2f + 2 = ${2 * f + 2} clients per round (f = byzantine = ${f}), but this run has ${n}; add clients or lower byzantine`;
}
