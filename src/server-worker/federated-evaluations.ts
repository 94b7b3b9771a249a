// The federated evaluations of one run that are still open: per evaluated round, who was asked (slot holders, by
// the strategy's configureEvaluate), what came back, and when it closes. A client evaluates after it sent its
// update, so a window outlives the round that carried its request; it closes when everyone answered, left, or at
// its deadline, and hands the strategy's aggregateEvaluate summary to the round's record.
import { ProtocolError, type EvaluationMessage } from '../shared/protocol';
import type { ClientEvaluation, FederatedEvaluation } from '../shared/status';

interface Window {
  asked: Map<string, number>;
  got: Map<string, ClientEvaluation>;
  timer: unknown;
}

export interface EvaluationDeps {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** A window closed: its summary (null when nobody answered) goes into that round's record. */
  closed(round: number, summary: FederatedEvaluation | null): void;
  aggregate(clients: ClientEvaluation[], asked: number): FederatedEvaluation | null;
}

const fail = (reason: ProtocolError['reason'], detail: string): never => {
  throw new ProtocolError(reason, detail);
};

export class FederatedEvaluations {
  private open = new Map<number, Window>();

  constructor(private deps: EvaluationDeps) {}

  get pending(): number {
    return this.open.size;
  }

  /** Opens round's window for `asked` (client → slot) until closesAt; false if there is nothing to open. */
  start(round: number, asked: Map<string, number>, closesAt: number): boolean {
    if (asked.size === 0 || this.open.has(round)) return false;
    const timer = this.deps.setTimer(() => this.close(round), Math.max(0, closesAt - this.deps.now()) + 1);
    this.open.set(round, { asked, got: new Map(), timer });
    return true;
  }

  /** Checks an evaluation against its window and the split size the coordinator knows (evalSamples per slot). */
  accept(e: EvaluationMessage, evalSamples: readonly number[]): void {
    const w = this.open.get(e.round);
    if (!w) fail('wrong-round', `no evaluation of round ${e.round} is open`);
    const slot = w!.asked.get(e.clientId);
    if (slot === undefined) fail('not-selected', `client ${e.clientId} was not asked to evaluate round ${e.round}`);
    if (w!.got.has(e.clientId)) fail('duplicate', `client ${e.clientId} already evaluated round ${e.round}`);
    if (e.numSamples !== evalSamples[slot!]) fail('wrong-sample-count', `client ${e.clientId} evaluated ${e.numSamples} images; slot ${slot} holds ${evalSamples[slot!]}`);
    const correct = e.classCorrect.reduce((a, b) => a + b, 0);
    w!.got.set(e.clientId, { clientId: e.clientId, slot: slot!, numSamples: e.numSamples, loss: e.loss, accuracy: e.numSamples ? correct / e.numSamples : 0 });
    this.closeIfDone(e.round, w!);
  }

  /** A client left: no window waits for it any longer (what it already sent stays). */
  gone(clientId: string): void {
    for (const [round, w] of this.open) {
      if (w.got.has(clientId) || !w.asked.delete(clientId)) continue;
      this.closeIfDone(round, w);
    }
  }

  private closeIfDone(round: number, w: Window): void {
    for (const id of w.asked.keys()) if (!w.got.has(id)) return;
    this.close(round);
  }

  close(round: number): void {
    const w = this.open.get(round);
    if (!w) return;
    this.open.delete(round);
    this.deps.clearTimer(w.timer);
    this.deps.closed(round, this.deps.aggregate([...w.got.values()], w.asked.size));
  }

  /** Drops every window (a reset), without summaries. */
  clear(): void {
    for (const w of this.open.values()) this.deps.clearTimer(w.timer);
    this.open.clear();
  }
}
