// The coordinator: run lifecycle (start, pause, reset, restore, persist), rounds and evaluation.
// Who the clients are lives in client-registry.ts, one round's bookkeeping in round.ts, its aggregation in
// aggregate-round.ts, the open federated evaluations in federated-evaluations.ts, the round's record in
// round-record.ts. No tf and no browser APIs here: the SharedWorker injects them, and Node tests inject fakes.
// Nothing a client sends can stop the coordinator: a bad message is rejected with its reason, a round that cannot
// be aggregated is recorded as skipped, and the run goes on.
import { newKey, signBroadcast } from '../shared/broadcast-auth';
import { ConfigError, resolveConfig, type FederationConfig } from '../shared/config';
import { labelHistogram, meanTotalVariation } from '../shared/partition';
import { deriveSeed } from '../shared/prng';
import {
  MAX_BROADCAST_CLIENTS,
  PROTOCOL_VERSION,
  ProtocolError,
  parseEvaluation,
  parseRegister,
  parseRunRequest,
  parseUpdate,
  checkHeldModalities,
  type RejectReason,
  type UnsignedBroadcast,
} from '../shared/protocol';
import { attackerSlots, expectedSteps, heldModalities, isEvalRound, sampleSlots, slotSplit, stragglerPlan, stragglerSlots } from '../shared/run-plan';
import { serialQueue } from '../shared/serial';
import { createStrategy, paramsOf, type ComposedState, type ComposedStrategy } from '../shared/strategies/registry';
import { orderedWeightedSum, roundStreams, updateMemoryWarning } from '../shared/strategies/streaming';
import type { AttentionSnapshot, CoordinatorStatus, Rejection, RunState } from '../shared/status';
import { totalSize } from '../shared/weights';
import { initialRunWeights } from '../shared/ml/pretrained-init';
import { aggregateRound } from './aggregate-round';
import { ClientRegistry, MAX_VIRTUAL_CLIENTS, type Connection } from './client-registry';
import { FederatedEvaluations } from './federated-evaluations';
import { RoundInProgress, type ClosedRound, type RoundStream } from './round';
import { localAccuracy } from './local-accuracy';
import { checkStoredRun } from './stored-run';
import type { ClientConnection, FederationDeps, PersistedRun, Task, UpdateResult } from './types';

export type { ClientConnection, EvalResult, FederationDeps, PersistedRun, RunStore, Task, UpdateResult } from './types';
import type { Prediction } from './api';
import { parseBrokerStats, type BrokerRound, type BrokerStats } from '../shared/broker-stats';
import { clientRecords, droppedRecords, newRoundRecord, roundTraffic, withEvaluation } from './round-record';
import { vectorBytes } from '../shared/compression/uplink';

/** When resuming, how long to wait for every slot to be taken once minClients are back. */
export const RESUME_GRACE_MS = 5_000;
const MAX_RECENT_REJECTIONS = 50;

interface Run extends PersistedRun {
  weights: Float32Array;
  strategy: ComposedStrategy;
  task: Task | null;
  slotHolders: Array<string | null>;
  /** Per slot: what the client trains on and evaluates on. */
  slotTrain: number[];
  slotEval: number[];
  slotHistograms: number[][];
  /** The slots' training class counts summed: head / mid / tail classes of the imbalance metrics. */
  trainClassCounts: number[] | null;
  heterogeneityTV: number | null;
  attackerSlots: number[];
  /** Set once a resumed run has waited its grace period. */
  graceUntil: number | null;
  /** Per-client HMAC keys for this run's broadcasts. */
  keys: Map<string, Promise<{ raw: Uint8Array; key: CryptoKey }>>;
  /** Test-set evaluations not yet finished, by round. */
  evaluating: Set<number>;
  /** Federated evaluations still open, by round. */
  fedEvals: FederatedEvaluations;
  /** Per-client extras of the round in progress. */
  perClient: Map<string, Record<string, Float32Array>>;
  /** The latest evaluated model's attention (not persisted: a restored run shows it again after its next evaluation). */
  attention: AttentionSnapshot | null;
  /** The update-memory warning was printed (once a run). */
  memoryWarned: boolean;
}

const defaultRandomHex = (bytes: number) => Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');

export class Federation {
  readonly registry: ClientRegistry;
  private run: Run | null = null;
  private current: RoundInProgress | null = null;
  /** The round most recently closed: its missing participants' updates are late, not misdirected. */
  private closed: ClosedRound | null = null;
  private state: RunState = 'idle';
  private message = 'waiting for Start';
  private error: string | null = null;
  private pauseRequested = false;
  private finishing = false;
  private runsStarted = 0;
  private rejections: CoordinatorStatus['rejections'] = { total: 0, byReason: {}, recent: [] };
  private broker: BrokerStats | null = null;
  /** Broker traffic by run and round, for round records not yet written. */
  private brokerRounds = new Map<string, BrokerRound>();
  private sweepTimer: unknown;
  private waitTimer: unknown = null;
  /** Saves run one after another, so an older snapshot never lands after a newer one. */
  private saving: Promise<void> = Promise.resolve();
  /** Rounds of the current run's history that are safely stored (what a reopened dashboard will find). */
  private savedRounds = 0;
  /** Work started without a caller awaiting it (rounds, broadcasts, evaluations): flush() waits for all of it. */
  private inflight = new Set<Promise<unknown>>();
  /** Who the latest round or evaluate broadcast asked for work: a stop to more clients than one broadcast signs goes to them. */
  private lastAddressed: string[] = [];

  constructor(private deps: FederationDeps) {
    this.registry = new ClientRegistry({
      now: deps.now,
      setTimer: deps.setTimer,
      randomHex: deps.randomHex ?? defaultRandomHex,
      maxClients: deps.maxClients,
      watchLock: deps.watchLock,
      reject: (reason, detail, clientId) => this.reject(reason, detail, clientId),
      gone: (clientId, reason) => this.clientGone(clientId, reason),
    });
    this.sweepTimer = deps.setTimer(() => this.sweep(), 2000);
  }

  /** Restores the stored run; a run that was in progress resumes once clients are back. */
  async restore(): Promise<void> {
    const loaded: unknown = await this.deps.store.load().catch(() => null);
    if (!loaded) return;
    const notRestored = (why: string) => void (this.message = `the run saved in this browser could not be resumed (${why}); Start begins a new one`);
    const stored = checkStoredRun(loaded);
    if ('error' in stored) return notRestored(stored.error);
    let run: Run;
    try {
      run = this.newRun({ ...stored.run, config: resolveConfig(stored.run.config) }, stored.weights);
    } catch (e) {
      return notRestored(e instanceof Error ? e.message : String(e));
    }
    this.run = run;
    this.savedRounds = run.history.length;
    if (run.state === 'done' || run.state === 'paused') {
      this.setState(run.state, run.state === 'done' ? `finished ${run.round} rounds` : `paused after round ${run.round}`);
      return;
    }
    this.setState('waiting', `resuming after round ${run.round}: waiting for clients`);
    const mismatch = await this.prepareTask();
    if (this.run === run && this.state === 'error') {
      // Its task did not fit the stored weights, or did not load: nothing to resume.
      const why = mismatch ?? this.error ?? 'its task did not load';
      this.run = null;
      this.error = null;
      this.setState('idle', '');
      return notRestored(why);
    }
    // The stored weights are the last round's model; its evaluation may not have finished before the worker went.
    const last = run.history.at(-1);
    if (last && last.accuracy === null && isEvalRound(run.config, last.round)) this.evaluateCentrally(run, last.round, run.weights, run.strategyState);
    this.maybeBegin();
  }

  status(): CoordinatorStatus {
    const run = this.run;
    const broadcastsDropped: CoordinatorStatus['broadcastsDropped'] = {};
    for (const row of this.registry.all()) {
      for (const [k, n] of Object.entries(row.broadcastsDropped)) broadcastsDropped[k as keyof typeof broadcastsDropped] = (broadcastsDropped[k as keyof typeof broadcastsDropped] ?? 0) + n;
    }
    return {
      state: this.state,
      message: this.message,
      runId: run?.runId ?? null,
      round: this.current?.round ?? run?.round ?? 0,
      config: run?.config ?? null,
      numPartitions: run?.numPartitions ?? 0,
      heterogeneityTV: run?.heterogeneityTV ?? null,
      trainClassCounts: run?.trainClassCounts ?? null,
      attackerSlots: run?.attackerSlots ?? [],
      coordinatorBackend: this.deps.coordinatorBackend(),
      history: run?.history ?? [],
      clients: this.registry.all(),
      rejections: this.rejections,
      registrationsRefused: this.registry.refused,
      broadcastsDropped,
      broker: this.broker,
      attention: run?.attention ?? null,
      savedRounds: run ? this.savedRounds : 0,
      error: this.error,
    };
  }

  // ---- client connections --------------------------------------------------

  /** A new connection (a port in the browser, a virtual client in Node). */
  connect(): ClientConnection {
    const conn = this.registry.connect();
    const counted = <T>(raw: unknown, fn: () => T): T => {
      try {
        return fn();
      } catch (e) {
        if (e instanceof ProtocolError && e.reason !== 'registration-refused') this.reject(e.reason, e.message, claimedId(raw));
        throw e;
      }
    };
    const asResult = (raw: unknown, fn: () => void): UpdateResult => {
      try {
        counted(raw, fn);
        return { accepted: true };
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        return { accepted: false, reason: e.reason, detail: e.message };
      }
    };
    return {
      connection: conn,
      register: async (raw) => {
        const reply = counted(raw, () => this.registry.register(conn, parseRegister(raw)));
        this.assignFreeSlots();
        const run = this.run;
        if (run) await this.keyFor(run, reply.clientId);
        this.maybeBegin();
        return reply;
      },
      heartbeat: (raw) =>
        counted(raw, () => {
          const reply = this.registry.heartbeat(conn, raw);
          const why = reply.registered ? this.whyWaiting((raw as { clientId: string }).clientId) : null;
          return why ? { ...reply, waiting: why } : reply;
        }),
      submitUpdate: (raw) => asResult(raw, () => this.acceptUpdate(conn, raw)),
      submitEvaluation: (raw) => asResult(raw, () => this.acceptEvaluation(conn, raw)),
      runKey: async (raw) => {
        const req = counted(raw, () => parseRunRequest(raw, 'key'));
        counted(raw, () => this.registry.authenticate(conn, req.clientId, req.secret));
        const run = this.run;
        // Not counted: an honest client asks for the key of whatever run id a forged broadcast named.
        if (!run || run.runId !== req.runId) fail('wrong-run', `run ${req.runId} is not the current run`);
        return { runId: run.runId, key: (await this.keyFor(run, req.clientId)).raw.slice() };
      },
      roundExtras: (raw) =>
        counted(raw, () => {
          const req = parseRunRequest(raw, 'extras');
          this.registry.authenticate(conn, req.clientId, req.secret);
          const run = this.run;
          const cur = this.current;
          if (!run || run.runId !== req.runId) fail('wrong-run', `run ${req.runId} is not the current run`);
          if (!cur || cur.round !== req.round) fail('wrong-round', `round ${req.round} is not in progress`);
          if (!cur.participants.has(req.clientId)) fail('not-selected', `client ${req.clientId} was not selected for round ${req.round}`);
          return run.perClient.get(req.clientId) ?? {};
        }),
    };
  }

  private acceptUpdate(conn: Connection, raw: unknown): void {
    const cur = this.current;
    const run = this.run;
    const head = raw as { clientId?: unknown; secret?: unknown; runId?: unknown; round?: unknown } | null;
    // Who is asking comes first: nobody else's update is even parsed.
    if (typeof head?.clientId !== 'string' || typeof head.secret !== 'string') fail('malformed', 'an update names its clientId and secret');
    this.registry.authenticate(conn, head.clientId, head.secret);
    if (!run?.task || !cur || this.finishing) {
      if (this.isLateForClosedRound(head)) fail('late', `update for round ${this.closed!.round} arrived after that round closed`);
      fail('wrong-round', 'no round is accepting updates');
    }
    const msg = parseUpdate(raw, run.task.layers, run.config);
    const slot = cur.participants.get(msg.clientId);
    if (slot !== undefined) checkHeldModalities(msg.delta, run.task.layers, heldModalities(run.config, run.numPartitions, slot));
    if (msg.round !== cur.round && this.isLateForClosedRound(msg)) fail('late', `update for round ${msg.round} arrived after that round closed`);
    try {
      cur.accept(msg, this.deps.now());
    } catch (e) {
      // A participant whose update arrives after the deadline (before the timer fired) is out of this round.
      if (e instanceof ProtocolError && e.reason === 'late') cur.drop(msg.clientId, 'late');
      throw e;
    }
    this.message = `round ${cur.round}: ${cur.received.size}/${cur.participants.size} updates`;
    this.maybeFinishRound();
  }

  /** The deadline timer closes a round at deadline + 1 ms, so a missed deadline shows up as a stale round number. */
  private isLateForClosedRound(msg: { clientId?: unknown; runId?: unknown; round?: unknown } | null): boolean {
    const c = this.closed;
    return (
      c !== null &&
      typeof msg?.clientId === 'string' &&
      msg.runId === this.run?.runId &&
      msg.round === c.round &&
      c.participants.has(msg.clientId) &&
      !c.received.has(msg.clientId)
    );
  }

  private acceptEvaluation(conn: Connection, raw: unknown): void {
    const run = this.run;
    if (!run?.task) fail('wrong-run', 'no run is in progress');
    const e = parseEvaluation(raw, run.task.numClasses);
    this.registry.authenticate(conn, e.clientId, e.secret);
    if (e.runId !== run.runId) fail('wrong-run', `evaluation for run ${e.runId}, current run is ${run.runId}`);
    run.fedEvals.accept(e, run.slotEval);
  }

  // ---- controls ------------------------------------------------------------

  /** Start and reset run one after another: a start must not land in the middle of a reset, nor the reverse. */
  private readonly serially = serialQueue();

  start(partial?: unknown): Promise<void> {
    return this.serially(() => this.startNow(partial));
  }

  private async startNow(partial?: unknown): Promise<void> {
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
    if (config.clients > this.registry.capacity) {
      throw new ConfigError(`clients: this coordinator keeps at most ${this.registry.capacity} clients (a browser tab each; the Node runtime takes up to ${MAX_VIRTUAL_CLIENTS.toLocaleString('en-US')} virtual ones), got ${config.clients}`);
    }
    await this.clearRun();
    // Time plus a counter: a reset and a restart within one millisecond must not reuse the old run's id.
    const runId = `run-${this.deps.now().toString(36)}-${++this.runsStarted}`;
    const run = this.newRun({ runId, config, state: 'preparing', round: 0, numPartitions: 0, history: [] }, new Float32Array(0));
    this.run = run;
    this.savedRounds = 0;
    this.error = null;
    this.setState('preparing', `loading ${config.dataset}`);
    await this.prepareTask();
    if (this.run !== run || !run.task) return;
    run.weights = initialRunWeights(config, run.task.layers, deriveSeed(config.seed, 'init'));
    await Promise.all(this.registry.all().map((c) => this.keyFor(run, c.clientId)));
    if (this.run !== run) return;
    this.setState('waiting', this.waitingMessage());
    this.maybeBegin();
  }

  /**
   * The classroom hub's report. A round's broker traffic lands in its record as it grows (until the next round's
   * broadcast); once the run is done its records are final, so the run a teacher downloads matches the status
   * (pings and heartbeats after the end are not a round's traffic). A bad report is rejected and counted, never
   * applied.
   */
  reportBroker(raw: unknown): void {
    let stats: BrokerStats;
    try {
      stats = parseBrokerStats(raw);
    } catch (e) {
      this.reject('malformed', e instanceof Error ? e.message : String(e), null);
      throw e;
    }
    this.broker = stats;
    for (const r of stats.rounds) {
      const entry: BrokerRound = { bytesIn: r.bytesIn, bytesOut: r.bytesOut, rttMs: r.rttMs };
      const key = `${r.runId}/${r.round}`;
      this.brokerRounds.delete(key);
      this.brokerRounds.set(key, entry);
      if (this.brokerRounds.size > 64) this.brokerRounds.delete(this.brokerRounds.keys().next().value!);
      const live = this.run?.runId === r.runId && this.state !== 'done';
      const rec = live ? this.run!.history.find((h) => h.round === r.round) : undefined;
      if (rec) rec.broker = entry;
    }
  }

  /** The global model now (a copy): what the Node runtime reports at the end of a run. */
  globalWeights(): Float32Array | null {
    return this.run?.weights.slice() ?? null;
  }

  /** The current global model on one image, for the dashboard's drawing pad; the image is checked first. */
  async predict(image: unknown): Promise<Prediction | null> {
    if (!(image instanceof Uint8Array) || image.length !== 28 * 28) throw new ConfigError('predict needs a Uint8Array of 28×28 = 784 pixels (0–255)');
    const run = this.run;
    if (!run?.task || run.weights.length === 0) return null;
    return { round: run.round, probabilities: await run.task.predict(run.weights, image, run.strategy.modelExtras?.(run.strategyState as ComposedState)) };
  }

  pause(): void {
    if (this.state === 'waiting' || (this.state === 'running' && !this.current)) {
      this.setState('paused', `paused after round ${this.run?.round ?? 0}`);
      this.persist();
    } else if (this.state === 'running') {
      this.pauseRequested = true;
      this.message = `pausing after round ${this.current?.round}`;
    }
  }

  reset(): Promise<void> {
    return this.serially(() => this.resetNow());
  }

  private async resetNow(): Promise<void> {
    await this.clearRun();
    this.registry.clearRunFields();
    this.rejections = { total: 0, byReason: {}, recent: [] };
    this.error = null;
    await this.saving;
    await this.deps.store.clear();
    this.setState('idle', 'reset; waiting for Start');
  }

  // ---- run internals -------------------------------------------------------

  private newRun(p: PersistedRun, weights: Float32Array): Run {
    const strategy = createStrategy(p.config.algorithm, paramsOf(p.config));
    const fedEvals = new FederatedEvaluations({
      now: this.deps.now,
      setTimer: this.deps.setTimer,
      clearTimer: this.deps.clearTimer,
      aggregate: (clients, asked) => strategy.aggregateEvaluate(clients, asked),
      closed: (round, summary) => {
        if (this.run !== run) return;
        const i = run.history.findIndex((h) => h.round === round);
        if (i >= 0) run.history[i] = { ...run.history[i], federatedEval: summary };
        this.persist();
        this.maybeDone(run);
      },
    });
    const run: Run = {
      ...p,
      weights,
      strategy,
      strategyState: p.strategyState ?? strategy.initState(),
      task: null,
      slotHolders: Array.from({ length: p.numPartitions }, () => null),
      slotTrain: [],
      slotEval: [],
      slotHistograms: [],
      trainClassCounts: null,
      heterogeneityTV: null,
      attackerSlots: attackerSlots(p.config, p.numPartitions),
      graceUntil: null,
      keys: new Map(),
      evaluating: new Set(),
      fedEvals,
      perClient: new Map(),
      attention: null,
      memoryWarned: false,
    };
    return run;
  }

  /** The client's key for this run, made once (concurrent callers share it); none is kept for a client that left. */
  private keyFor(run: Run, clientId: string): Promise<{ raw: Uint8Array; key: CryptoKey }> {
    let k = run.keys.get(clientId);
    if (!k) {
      k = newKey();
      run.keys.set(clientId, k);
      k.then(
        () => void (this.registry.get(clientId) || run.keys.delete(clientId)),
        () => void run.keys.delete(clientId),
      );
    }
    return k;
  }

  /**
   * Signs for the clients the message asks for work (a round's participants and evaluators), the only ones that act
   * on it; a stop for every client when they fit in one broadcast, else for those the last broadcasts asked for work.
   */
  private async sendSigned(run: Run, msg: UnsignedBroadcast): Promise<void> {
    let to: Iterable<string>;
    if (msg.type === 'stop') {
      const all = this.registry.all().map((c) => c.clientId);
      to = all.length <= MAX_BROADCAST_CLIENTS ? all : this.lastAddressed;
    } else {
      const asked = new Set([...Object.keys(msg.type === 'round' ? msg.assignments : {}), ...Object.keys(msg.evaluate?.slots ?? {})]);
      to = this.lastAddressed = [...asked];
    }
    const live = new Map<string, CryptoKey>();
    for (const id of to) {
      const k = this.registry.get(id) ? run.keys.get(id) : undefined;
      if (k) live.set(id, (await k).key);
    }
    this.deps.broadcast(await this.track(signBroadcast(msg, live)));
  }

  private async clearRun(): Promise<void> {
    const run = this.run;
    if (this.current) this.deps.clearTimer(this.current.timer);
    if (this.waitTimer !== null) this.deps.clearTimer(this.waitTimer);
    this.waitTimer = null;
    this.current = null;
    this.closed = null;
    this.finishing = false;
    this.pauseRequested = false;
    this.run = null;
    if (!run) return;
    run.fedEvals.clear();
    // The model is freed only after the evaluation in progress is done with it (the task queues dispose).
    run.task?.dispose();
    await this.sendSigned(run, { v: PROTOCOL_VERSION, type: 'stop', runId: run.runId });
  }

  /** Loads the run's task; returns why the run's weights do not fit its model, if they do not (the run then fails). */
  private async prepareTask(): Promise<string | null> {
    const run = this.run!;
    if (run.task) return null;
    let task: Task;
    try {
      task = await this.deps.loadTask(run.config);
    } catch (e) {
      if (this.run === run) this.fail(`could not load ${run.config.dataset}: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
    if (this.run !== run) {
      task.dispose();
      return null;
    }
    if (run.weights.length > 0 && run.weights.length !== totalSize(task.layers)) {
      // A stored run resumed on another model (or another version of it).
      task.dispose();
      const mismatch = `its model has ${run.weights.length} values, ${run.config.model} has ${totalSize(task.layers)}`;
      this.fail(`the run cannot go on: ${mismatch}. Reset, then Start a new run`);
      return mismatch;
    }
    run.task = task;
    if (run.numPartitions > 0) this.computeSlots();
    return null;
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

  /** A client with no slot is told why: never a silent "waiting" (a late joiner, a full run, no run yet). */
  private whyWaiting(clientId: string): string | null {
    const run = this.run;
    if (!run || this.state === 'idle') return 'no run yet: waiting for the dashboard to start one';
    if (this.state === 'done') return `the run finished after ${run.round} rounds; waiting for the next one`;
    const slot = this.registry.get(clientId)?.slot;
    if (slot !== null && slot !== undefined && run.slotHolders[slot] === clientId) return null;
    if (this.state === 'preparing' || run.numPartitions === 0) {
      return `the run starts once ${this.requiredClients()} clients have joined (${this.registry.size} so far); you are one of them`;
    }
    const free = run.slotHolders.filter((h) => h === null).length;
    if (free > 0) return `a free slot is yours from the next round (${free} of ${run.numPartitions} free)`;
    return `all ${run.numPartitions} slots of this run are taken; you get one if a client leaves, or in the next run`;
  }

  private waitingMessage(): string {
    const run = this.run!;
    return `waiting for clients: ${this.registry.size}/${run.numPartitions || this.requiredClients()} registered`;
  }

  private requiredClients(): number {
    const cfg = this.run!.config;
    return cfg.clients > 0 ? cfg.clients : cfg.minClients;
  }

  /** Hands free partition slots to registered clients that hold none (first come, first served). */
  private assignFreeSlots(): void {
    const run = this.run;
    if (!run || run.numPartitions === 0) return;
    let from = 0; // slots before it are taken: one pass over the slots, not one per client
    for (const row of this.registry.all()) {
      if (row.slot !== null && run.slotHolders[row.slot] === row.clientId) continue;
      const free = run.slotHolders.indexOf(null, from);
      from = Math.max(from, free + 1);
      if (free < 0) {
        row.slot = null;
        continue;
      }
      run.slotHolders[free] = row.clientId;
      row.slot = free;
      row.numSamples = run.slotTrain[free] ?? 0;
      row.labelHistogram = run.slotHistograms[free] ?? null;
    }
  }

  private computeSlots(): void {
    const run = this.run!;
    const task = run.task!;
    const splits = Array.from({ length: run.numPartitions }, (_, s) => slotSplit(task.trainLabels, task.numClasses, run.config, run.numPartitions, s));
    run.slotTrain = splits.map((p) => p.train.length);
    run.slotEval = splits.map((p) => p.eval.length);
    run.slotHistograms = splits.map((p) => labelHistogram(task.trainLabels, p.train, task.numClasses));
    // Partitions are disjoint, so the sum of their histograms is the histogram of all the run's training data.
    run.trainClassCounts = run.slotHistograms.reduce((sum, h) => sum.map((n, c) => n + h[c]), new Array<number>(task.numClasses).fill(0));
    run.heterogeneityTV = meanTotalVariation(task.trainLabels, splits.map((p) => p.train), task.numClasses);
    run.attackerSlots = attackerSlots(run.config, run.numPartitions);
    for (const row of this.registry.all()) {
      if (row.slot !== null && row.slot < run.numPartitions) {
        row.numSamples = run.slotTrain[row.slot];
        row.labelHistogram = run.slotHistograms[row.slot];
      }
    }
  }

  /** Moves from `waiting` to running once enough clients are here. */
  private maybeBegin(): void {
    const run = this.run;
    if (this.state !== 'waiting' || !run?.task || this.current || this.finishing) return;
    if (run.numPartitions === 0) {
      // Open enrollment: the planned slots exist from the start, and students fill them as they arrive.
      const needed = run.config.enrollment === 'open' && run.config.clients > 0 ? run.config.minClients : this.requiredClients();
      if (this.registry.size < needed) return void (this.message = this.waitingMessage());
      run.numPartitions = run.config.clients > 0 ? run.config.clients : this.registry.size;
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
    void this.track(this.nextRound(run));
  }

  private async nextRound(run: Run): Promise<void> {
    if (this.run !== run) return;
    if (run.round >= run.config.rounds) return this.finishRun(run);
    if (this.pauseRequested) {
      this.pauseRequested = false;
      this.setState('paused', `paused after round ${run.round}`);
      this.openFinalEvaluation(run);
      this.persist();
      return;
    }
    this.assignFreeSlots();
    const cfg = run.config;
    const active = run.slotHolders.flatMap((h, s) => (h !== null ? [s] : []));
    if (active.length === 0 || active.length < Math.min(cfg.minClients, run.numPartitions)) {
      this.setState('waiting', this.waitingMessage());
      return;
    }
    const round = run.round + 1;
    const chosen = sampleSlots(active, cfg.fraction, cfg.seed, round);
    const participants = new Map(chosen.map((s) => [run.slotHolders[s]!, s]));
    const expected = new Map(
      chosen.map((s) => {
        const held = heldModalities(cfg, run.numPartitions, s).length;
        const full = expectedSteps(cfg, run.slotTrain[s], null, held);
        return [s, { samples: run.slotTrain[s], steps: expectedSteps(cfg, run.slotTrain[s], stragglerPlan(cfg, chosen, round, s, full), held), classCounts: run.slotHistograms[s] }];
      }),
    );
    const size = totalSize(run.task!.layers);
    const def = run.strategy.definition;
    const streams = roundStreams(run.strategy, cfg);
    const memoryWarning = streams ? null : updateMemoryWarning(def, chosen.length, size);
    if (memoryWarning && !run.memoryWarned) console.warn(`round ${round}: ${memoryWarning}`);
    run.memoryWarned ||= memoryWarning !== null;
    const payload = run.strategy.configureRound?.(run.strategyState as ComposedState, { round, slots: chosen, numClients: run.numPartitions, size }) ?? {};
    run.perClient = new Map();
    for (const [id, slot] of participants) {
      const extras = payload.perSlot?.[slot];
      if (extras && Object.keys(extras).length) run.perClient.set(id, extras);
    }
    const now = this.deps.now();
    const checkUpload = def.checkUpload && ((e: Readonly<Record<string, Float32Array>>, slot: { samples: number; classCounts: readonly number[] }) => def.checkUpload!(cfg as never, e, slot));
    let stream: RoundStream | null = null;
    if (streams) {
      // FedAvg's own stragglers' partial work never counts: the sum does not wait for it.
      const partial = stragglerSlots(cfg, chosen, round);
      const folds = new Set(chosen.filter((s) => def.keepsPartialWork || partial.get(s) !== 'partial'));
      stream = { sum: orderedWeightedSum(size, [...folds]), folds };
    }
    const cur = new RoundInProgress(run.runId, round, now, now + cfg.roundDeadlineMs, participants, expected, def.payload?.upload ?? [], size, def.extraShapes?.(cfg as never), checkUpload, stream);
    const sharedDown = run.weights.byteLength + vectorBytes(payload.broadcast);
    for (const id of participants.keys()) cur.bytesDown.set(id, sharedDown + vectorBytes(run.perClient.get(id)));
    this.current = cur;
    cur.timer = this.deps.setTimer(() => void this.track(this.finishRound()), cfg.roundDeadlineMs + 1);
    this.message = `round ${round}: training on ${participants.size} clients`;
    // The model of the round just finished goes out with this one; its clients evaluate it beside training.
    const evaluate = this.openFederatedEval(run, run.round, now + cfg.roundDeadlineMs);
    await this.sendSigned(run, {
      v: PROTOCOL_VERSION,
      type: 'round',
      runId: run.runId,
      round,
      config: cfg,
      assignments: Object.fromEntries(participants),
      numPartitions: run.numPartitions,
      deadline: cur.deadline,
      layers: run.task!.layers,
      weights: run.weights,
      ...(payload.broadcast && Object.keys(payload.broadcast).length ? { extras: payload.broadcast } : {}),
      perClient: [...run.perClient.keys()],
      ...(def.needs?.(cfg as never).classPrior && run.trainClassCounts ? { classCounts: run.trainClassCounts } : {}),
      evaluate,
    });
  }

  private maybeFinishRound(): void {
    if (this.current && !this.finishing && this.current.complete()) void this.track(this.finishRound());
  }

  /** Closes the round, aggregates what came back (or records why not), and moves on. Never leaves the run stuck. */
  private async finishRound(): Promise<void> {
    const cur = this.current;
    const run = this.run;
    if (!cur || !run?.task || this.finishing) return;
    this.finishing = true;
    let evaluate: { round: number; weights: Float32Array; state: unknown } | null = null;
    try {
      evaluate = await this.closeRound(run, cur);
    } catch (e) {
      // A bug here must not leave the coordinator waiting forever: record it and keep going.
      if (this.run === run) this.message = `round ${cur.round}: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      if (this.current === cur) this.current = null;
      this.finishing = false;
    }
    // The next round goes out first; the model of this one is then evaluated beside it.
    if (this.run === run && this.state === 'running') await this.nextRound(run);
    if (evaluate && this.run === run) this.evaluateCentrally(run, evaluate.round, evaluate.weights, evaluate.state);
  }

  /** Records the round; returns the model to evaluate on the test set, if this round is evaluated. */
  private async closeRound(run: Run, cur: RoundInProgress): Promise<{ round: number; weights: Float32Array; state: unknown } | null> {
    this.deps.clearTimer(cur.timer);
    this.closed = cur.close();
    for (const id of cur.participants.keys()) if (!cur.received.has(id)) cur.drop(id, 'deadline');
    const cfg = run.config;
    const def = run.strategy.definition;
    const stragglers = stragglerSlots(cfg, [...cur.participants.values()], cur.round);
    let updates = [...cur.received.values()];
    if (!def.keepsPartialWork) {
      for (const u of updates) if (stragglers.get(u.slot) === 'partial') cur.drop(u.clientId, `straggler: partial work (${def.name} drops it)`);
      updates = updates.filter((u) => !cur.dropped.has(u.clientId));
    }
    // Slot order, not arrival order: the same seeded run aggregates the same sums however its clients are scheduled.
    updates.sort((a, b) => a.slot - b.slot);
    const t0 = this.deps.now();
    const out = await aggregateRound({
      strategy: run.strategy,
      state: run.strategyState as ComposedState,
      config: cfg,
      task: run.task!,
      weights: run.weights,
      round: cur.round,
      numPartitions: run.numPartitions,
      updates,
      streamed: cur.stream?.sum ?? null,
    });
    if (this.run !== run) return null;
    const aggregateMs = this.deps.now() - t0;
    if (out.weights) {
      run.weights = out.weights;
      run.strategyState = out.state;
    }
    const clients = clientRecords(updates, out.result, (id) => this.registry.get(id), run.attackerSlots, stragglers, cur.bytesDown);
    for (const c of clients) {
      const row = this.registry.get(c.clientId);
      if (row) Object.assign(row, { lastUpdateNorm: c.updateNorm, lastWeight: c.weight, localLoss: c.trainLoss, reliability: c.reliability });
    }
    const record = newRoundRecord({
      round: cur.round,
      seconds: (this.deps.now() - cur.startedAt) / 1000,
      participants: [...cur.participants.keys()],
      dropped: droppedRecords(cur, run.attackerSlots, stragglers),
      clients,
      flagged: out.result?.flagged ?? [],
      skipped: out.skipped,
      aggregateMs,
      serverDistill: out.result?.distill ?? null,
      traffic: roundTraffic(cur),
    });
    record.broker = this.brokerRounds.get(`${run.runId}/${cur.round}`) ?? null;
    run.history.push(record);
    run.round = cur.round;
    this.persist();
    if (!isEvalRound(cfg, cur.round)) return null;
    // Reserved now, so that the run is not done before this evaluation is in.
    run.evaluating.add(cur.round);
    return { round: cur.round, weights: run.weights, state: run.strategyState };
  }

  /** Test-set evaluation of a round's model, beside the next round; fills that round's record when done. */
  private evaluateCentrally(run: Run, round: number, weights: Float32Array, state: unknown): void {
    run.evaluating.add(round);
    const t0 = this.deps.now();
    const task = run.task!;
    // FedAlign's z_c and the slots' personal models, as the round left them.
    const extras = run.strategy.modelExtras?.(state as ComposedState);
    const personal = run.strategy.personalWeights?.(state as ComposedState);
    void this.track(task
      .evaluate(weights, extras)
      .then(async (r) => {
        if (this.run !== run) return;
        const local = await localAccuracy(run.slotHistograms, r.recall, personal, (w) => task.evaluate(w, extras));
        if (this.run !== run) return;
        const i = run.history.findIndex((h) => h.round === round);
        if (i >= 0) {
          run.history[i] = {
            ...withEvaluation(run.history[i], r, this.deps.now() - t0, run.config.attack, run.trainClassCounts ?? []),
            localAccuracy: local?.mean ?? null,
            localAccuracyBySlot: local?.bySlot ?? null,
          };
        }
        return this.attentionOf(run, round, weights);
      })
      .catch((e: unknown) => {
        if (this.run === run) this.message = `evaluation of round ${round} failed: ${e instanceof Error ? e.message : String(e)}`;
      })
      .finally(() => {
        if (this.run !== run) return;
        run.evaluating.delete(round);
        this.persist();
        this.maybeDone(run);
      }));
  }

  /** The dashboard's attention pictures of a round's model: a forward pass on a few images, after its evaluation. */
  private async attentionOf(run: Run, round: number, weights: Float32Array): Promise<void> {
    try {
      const images = await run.task!.attention(weights);
      // Calls run in order, but a later round's may have been queued first: keep the newest.
      if (images && this.run === run && round >= (run.attention?.round ?? 0)) run.attention = { round, images };
    } catch (e) {
      if (this.run === run) this.message = `attention of round ${round} failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** Asks the strategy's evaluators (every slot holder) to score `round`'s model on their own split; what the broadcast carries. */
  private openFederatedEval(run: Run, round: number, closesAt: number): { round: number; slots: Record<string, number> } | null {
    if (round < 1 || run.config.localEval <= 0 || !isEvalRound(run.config, round)) return null;
    const asked = new Map(Object.entries(run.strategy.configureEvaluate(run.slotHolders)).filter(([, s]) => run.slotEval[s] > 0));
    return run.fedEvals.start(round, asked, closesAt) ? { round, slots: Object.fromEntries(asked) } : null;
  }

  /** No next round now (the last one, or a pause): the latest model goes out for evaluation only. */
  private openFinalEvaluation(run: Run): void {
    const deadline = this.deps.now() + run.config.roundDeadlineMs;
    const evaluate = this.openFederatedEval(run, run.round, deadline);
    if (!evaluate) return;
    void this.track(this.sendSigned(run, {
      v: PROTOCOL_VERSION,
      type: 'evaluate',
      runId: run.runId,
      config: run.config,
      numPartitions: run.numPartitions,
      deadline,
      layers: run.task!.layers,
      weights: run.weights,
      evaluate,
    }));
  }

  private finishRun(run: Run): void {
    this.message = `round ${run.round}: evaluating the final model`;
    this.openFinalEvaluation(run);
    this.maybeDone(run);
  }

  /** Done once the last round is aggregated and both its evaluations are in. */
  private maybeDone(run: Run): void {
    if (this.run !== run || this.state !== 'running' || this.current || run.round < run.config.rounds) return;
    if (run.evaluating.size > 0 || run.fedEvals.pending > 0) return;
    const last = run.history.at(-1);
    this.setState('done', `finished ${run.round} rounds; final accuracy ${last?.accuracy?.toFixed(4) ?? '–'}`);
    this.persist();
  }

  private persist(): void {
    const run = this.run;
    if (!run || run.numPartitions === 0) return;
    const { runId, config, state, round, numPartitions, history, strategyState } = run;
    const snapshot = { runId, config, state, round, numPartitions, history: [...history], strategyState };
    const weights = run.weights;
    this.saving = this.saving
      .then(() => this.deps.store.save(snapshot, weights))
      .then(() => {
        if (this.run?.runId === runId) this.savedRounds = snapshot.history.length;
      })
      .catch((e: unknown) => {
        this.message = `could not save the run: ${e instanceof Error ? e.message : String(e)}`;
      });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p
      .catch((e: unknown) => {
        // Nobody awaits this work: say what went wrong where people look.
        this.message = `coordinator: ${e instanceof Error ? e.message : String(e)}`;
      })
      .finally(() => this.inflight.delete(p));
    return p;
  }

  /** Resolves once the work in flight (and whatever it started) is done and every save has landed. */
  async flush(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    await this.saving;
  }

  private clientGone(clientId: string, reason: string): void {
    const run = this.run;
    if (run) {
      const slot = run.slotHolders.indexOf(clientId);
      if (slot >= 0) run.slotHolders[slot] = null;
      run.keys.delete(clientId);
      run.fedEvals.gone(clientId);
    }
    const cur = this.current;
    if (cur?.participants.has(clientId) && !cur.received.has(clientId) && !cur.dropped.has(clientId)) {
      cur.drop(clientId, reason);
      this.maybeFinishRound();
    }
  }

  private sweep(): void {
    this.registry.sweep();
    this.sweepTimer = this.deps.setTimer(() => this.sweep(), 2000);
  }

  private reject(reason: RejectReason, detail: string, clientId: string | null): void {
    const r = this.rejections;
    r.total++;
    r.byReason[reason] = (r.byReason[reason] ?? 0) + 1;
    // Details quote what was received: kept short, whatever a client sent.
    const entry: Rejection = { at: this.deps.now(), clientId: clientId?.slice(0, 64) ?? null, round: this.current?.round ?? this.run?.round ?? 0, reason, detail: detail.slice(0, 300) };
    r.recent = [entry, ...r.recent].slice(0, MAX_RECENT_REJECTIONS);
  }

  /** A refused control call from a client port (coordinator.ts) is counted like any other rejection. */
  refuse(reason: RejectReason, detail: string): void {
    this.reject(reason, detail, null);
  }

  /** Stops timers; for tests. */
  dispose(): void {
    this.deps.clearTimer(this.sweepTimer);
    void this.clearRun();
  }
}

function fail(reason: RejectReason, detail: string): never {
  throw new ProtocolError(reason, detail);
}

function claimedId(raw: unknown): string | null {
  const id = (raw as { clientId?: unknown } | null)?.clientId;
  return typeof id === 'string' ? id.slice(0, 64) : null;
}

/** A strategy that needs more updates per round than the run can ever send fails before round 1, not in it. */
export function checkRoundSize(cfg: FederationConfig, numPartitions: number): string | null {
  const def = createStrategy(cfg.algorithm, paramsOf(cfg)).definition;
  const min = def.minUpdates?.(cfg as never) ?? 1;
  const n = Math.max(1, Math.ceil(cfg.fraction * numPartitions));
  // One MAC per selected client on the round's broadcast.
  if (n > MAX_BROADCAST_CLIENTS) return `a round can select at most ${MAX_BROADCAST_CLIENTS} clients (a broadcast carries one signature each), but C = ${cfg.fraction} of ${numPartitions} is ${n}; lower the fraction`;
  if (n >= min) return null;
  return `${cfg.algorithm} needs ${min} updates per round, but this run has ${n} clients per round; add clients or lower byzantine`;
}

