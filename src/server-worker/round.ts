// One round in progress: who was selected for which slot, what the coordinator expects of each of them (its own
// count of their samples and local steps), what came back, and who was dropped and why. Checking an update against
// it is pure, so every rejection is unit-tested without a coordinator.
import { ProtocolError, checkExtras, type ReceivedUpdate } from '../shared/protocol';
import type { OrderedWeightedSum } from '../shared/strategies/streaming';
import type { ExtraShape, StrategyUpdate, UploadProblem } from '../shared/strategies/strategy';
import { l2Norm } from '../shared/weights';

/** An accepted update as the round keeps it; a streamed round folds its delta in and keeps an empty one. */
export type AcceptedUpdate = StrategyUpdate & { message: ReceivedUpdate; updateNorm: number };

const NO_DELTA = new Float32Array(0);

/** A streamed round: the sum its updates fold into, and the slots whose updates count (FedAvg drops partial work). */
export interface RoundStream {
  sum: OrderedWeightedSum;
  folds: ReadonlySet<number>;
}

export interface SlotExpectation {
  /** Training samples of the slot's partition, as the coordinator computes it. */
  samples: number;
  /** Local steps: E·⌈n/B⌉, or the straggler plan's partial count. */
  steps: number;
  /** The partition's training samples per class (what FedAlign's prototype counts must match). */
  classCounts?: readonly number[];
}

export class RoundInProgress {
  readonly received = new Map<string, AcceptedUpdate>();
  /** Participants out of the round, with why; set through drop(). */
  readonly dropped = new Map<string, string>();
  /** What the round's broadcast and port carry to each participant (weights and extras), bytes. */
  readonly bytesDown = new Map<string, number>();
  timer: unknown = null;

  constructor(
    readonly runId: string,
    readonly round: number,
    readonly startedAt: number,
    readonly deadline: number,
    /** clientId → slot for the selected clients. */
    readonly participants: ReadonlyMap<string, number>,
    readonly expected: ReadonlyMap<number, SlotExpectation>,
    /** Names of the vectors the strategy wants with every update. */
    readonly uploads: readonly string[],
    readonly size: number,
    /** Lengths of the uploads that are not |w| long. */
    readonly shapes: Readonly<Record<string, ExtraShape>> = {},
    /** The strategy's own check of an upload's extras (FedAlign: counts, labels, features per class). */
    readonly checkUpload?: ((extras: Readonly<Record<string, Float32Array>>, slot: { samples: number; classCounts: readonly number[] }) => UploadProblem | null) | undefined,
    /** Set when the rule streams: deltas are summed on arrival, in slot order, and not kept. */
    readonly stream: RoundStream | null = null,
  ) {}

  /** Takes a participant out of the round (left, late, missed the deadline, or its work is dropped). */
  drop(clientId: string, reason: string): void {
    if (this.dropped.has(clientId)) return;
    this.dropped.set(clientId, reason);
    const slot = this.participants.get(clientId);
    if (this.stream && slot !== undefined && !this.received.has(clientId) && this.stream.folds.has(slot)) this.stream.sum.skip(slot);
  }

  /** Everyone selected has replied, left or been dropped. */
  complete(): boolean {
    for (const id of this.participants.keys()) if (!this.received.has(id) && !this.dropped.has(id)) return false;
    return true;
  }

  /** Checks an update that is well-formed and comes from its client; returns what the strategy will see. */
  accept(u: ReceivedUpdate, now: number): AcceptedUpdate {
    if (u.runId !== this.runId) throw new ProtocolError('wrong-run', `update for run ${u.runId}, current run is ${this.runId}`);
    if (u.round !== this.round) throw new ProtocolError('wrong-round', `update for round ${u.round}, current round is ${this.round}`);
    const slot = this.participants.get(u.clientId);
    if (slot === undefined) throw new ProtocolError('not-selected', `client ${u.clientId} was not selected for round ${u.round}`);
    if (this.received.has(u.clientId)) throw new ProtocolError('duplicate', `client ${u.clientId} already sent an update for round ${u.round}`);
    if (now > this.deadline) throw new ProtocolError('late', `update arrived ${now - this.deadline} ms after the round deadline`);
    const want = this.expected.get(slot)!;
    // The coordinator knows every partition: a client's word on its size or its work is checked, never trusted.
    if (u.numSamples !== want.samples) {
      throw new ProtocolError('wrong-sample-count', `client ${u.clientId} claims ${u.numSamples} samples; slot ${slot} holds ${want.samples}`);
    }
    if (u.steps !== want.steps) throw new ProtocolError('wrong-step-count', `client ${u.clientId} reports ${u.steps} local steps; slot ${slot} runs ${want.steps}`);
    const extras = checkExtras(u.extras, this.uploads, this.size, 'extras', this.shapes);
    const problem = this.checkUpload?.(extras, { samples: want.samples, classCounts: want.classCounts ?? [] });
    if (problem) throw new ProtocolError(problem.reason, `extras: ${problem.detail}`);
    const accepted: AcceptedUpdate = {
      clientId: u.clientId,
      slot,
      numSamples: want.samples,
      delta: u.delta,
      updateNorm: l2Norm(u.delta),
      epochLosses: u.epochLosses,
      batchLosses: u.batchLosses,
      steps: want.steps,
      ...(u.initialLoss !== undefined ? { initialLoss: u.initialLoss } : {}),
      ...(this.uploads.length ? { extras } : {}),
      message: u,
    };
    if (this.stream) {
      // A slot without training samples has FedAvg weight 0: it adds nothing, as in the batch sum.
      if (this.stream.folds.has(slot)) {
        if (want.samples > 0) this.stream.sum.add(slot, u.delta, want.samples);
        else this.stream.sum.skip(slot);
      }
      accepted.delta = NO_DELTA;
      accepted.message = { ...u, delta: NO_DELTA };
    }
    this.received.set(u.clientId, accepted);
    return accepted;
  }

  /** What is kept once the round is closed: enough to tell a late update from a misdirected one, not the updates. */
  close(): ClosedRound {
    return { round: this.round, participants: new Set(this.participants.keys()), received: new Set(this.received.keys()) };
  }
}

export interface ClosedRound {
  round: number;
  participants: ReadonlySet<string>;
  received: ReadonlySet<string>;
}
