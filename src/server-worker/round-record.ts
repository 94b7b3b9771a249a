// The record of one round, as the dashboard, status() and the run JSON show it. Built when the round is aggregated;
// its test-set accuracy and federated evaluation are filled in when they finish, beside the next round.
import type { StragglerMode } from '../shared/config';
import type { ComposedResult } from '../shared/strategies/registry';
import { imbalanceMetrics } from '../shared/metrics';
import { isTargeted } from '../shared/targeted-attack';
import type { ClientRoundRecord, ClientRow, DroppedClient, RoundRecord } from '../shared/status';
import type { EvalResult } from './types';
import type { AcceptedUpdate, RoundInProgress } from './round';
import type { AttackId } from '../shared/config';

export function clientRecords(
  updates: readonly AcceptedUpdate[],
  result: ComposedResult | null,
  row: (clientId: string) => ClientRow | undefined,
  attackerSlots: readonly number[],
  stragglers: ReadonlyMap<number, StragglerMode>,
  bytesDown: ReadonlyMap<string, number>,
): ClientRoundRecord[] {
  const flagOf = new Map((result?.flagged ?? []).map((f) => [f.clientId, f.reason]));
  return updates.map((u) => ({
    clientId: u.clientId,
    kind: row(u.clientId)?.kind ?? 'tab',
    slot: u.slot,
    backend: u.message.backend,
    numSamples: u.numSamples,
    weight: result?.clientWeights[u.clientId] ?? 0,
    updateNorm: u.updateNorm,
    trainLoss: u.epochLosses.at(-1) ?? NaN,
    samplesPerSec: u.message.samplesPerSec,
    trainMs: u.message.trainMs,
    numTensors: u.message.numTensors,
    steps: u.steps,
    role: attackerSlots.includes(u.slot) ? 'attacker' : 'honest',
    straggler: stragglers.get(u.slot) ?? null,
    reliability: result?.reliability?.[u.clientId] ?? null,
    flagged: flagOf.get(u.clientId) ?? null,
    bytesUp: u.message.bytesUp,
    bytesDown: bytesDown.get(u.clientId) ?? 0,
  }));
}

export function droppedRecords(cur: RoundInProgress, attackerSlots: readonly number[], stragglers: ReadonlyMap<number, StragglerMode>): DroppedClient[] {
  return [...cur.dropped].map(([clientId, reason]) => {
    const slot = cur.participants.get(clientId) ?? null;
    return { clientId, slot, reason, role: slot !== null && attackerSlots.includes(slot) ? 'attacker' : 'honest', straggler: slot !== null ? (stragglers.get(slot) ?? null) : null };
  });
}

export interface RoundFacts {
  round: number;
  seconds: number;
  participants: string[];
  dropped: DroppedClient[];
  clients: ClientRoundRecord[];
  flagged: RoundRecord['flagged'];
  skipped: string | null;
  aggregateMs: number;
  serverDistill: RoundRecord['serverDistill'];
  traffic: Pick<RoundRecord, 'bytesUp' | 'bytesDown' | 'denseBytesUp'>;
}

/**
 * A round's traffic. Up: every update that arrived (one dropped later for partial work was still sent). Down: what
 * each participant was sent. denseBytesUp: the same updates as dense float32 deltas, what FedAvg without
 * compression would have cost.
 */
export function roundTraffic(cur: RoundInProgress): RoundFacts['traffic'] {
  let bytesUp = 0;
  for (const u of cur.received.values()) bytesUp += u.message.bytesUp;
  let bytesDown = 0;
  for (const b of cur.bytesDown.values()) bytesDown += b;
  return { bytesUp, bytesDown, denseBytesUp: cur.received.size * cur.size * Float32Array.BYTES_PER_ELEMENT };
}


export function newRoundRecord(f: RoundFacts): RoundRecord {
  const maxTrainMs = f.clients.reduce((m, c) => Math.max(m, c.trainMs), 0);
  const ms = f.seconds * 1000;
  return {
    round: f.round,
    accuracy: null,
    unimodalAccuracy: null,
    confusion: null,
    loss: null,
    recall: null,
    balancedAccuracy: null,
    macroF1: null,
    headRecall: null,
    midRecall: null,
    tailRecall: null,
    worstClassRecall: null,
    seconds: f.seconds,
    maxTrainMs,
    overheadShare: ms > 0 ? Math.max(0, 1 - maxTrainMs / ms) : 0,
    evalMs: null,
    federatedEval: null,
    skipped: f.skipped,
    participants: f.participants,
    dropped: f.dropped,
    clients: f.clients,
    flagged: f.flagged,
    attackSuccessRate: null,
    aggregateMs: f.aggregateMs,
    serverDistill: f.serverDistill,
    broker: null,
    ...f.traffic,
    coordinatorTensors: null,
  };
}

/** NaN (nothing to average) becomes null, as JSON would write it anyway. */
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** `trainClassCounts`: the run's global training distribution, which decides the head, mid and tail classes. */
export function withEvaluation(rec: RoundRecord, r: EvalResult, evalMs: number, attack: AttackId, trainClassCounts: readonly number[]): RoundRecord {
  const m = imbalanceMetrics(r.confusion, trainClassCounts);
  return {
    ...rec,
    accuracy: r.accuracy,
    loss: r.loss,
    recall: r.recall,
    balancedAccuracy: finiteOrNull(m.balancedAccuracy),
    macroF1: finiteOrNull(m.macroF1),
    headRecall: finiteOrNull(m.headRecall),
    midRecall: finiteOrNull(m.midRecall),
    tailRecall: finiteOrNull(m.tailRecall),
    worstClassRecall: finiteOrNull(m.worstClassRecall),
    evalMs,
    unimodalAccuracy: r.unimodalAccuracy,
    confusion: r.confusion.map((row) => Array.from(row)),
    attackSuccessRate: isTargeted(attack) ? r.targetedAsr : null,
    coordinatorTensors: r.numTensors,
  };
}
