// Compressed uplinks (issue 9): how a client's Δ_k travels and what it costs. The client encodes after training
// (and after any simulated attack); the coordinator decodes and checks the encoding as strictly as a dense update
// before any strategy sees it, so every strategy works on dense vectors and compression is orthogonal to them.
import { MODALITIES, type Modality } from '../data/paired-modalities';
import { gatherRanges, modalityBlocks, rangesSize, type Ranges } from '../ml/modality-layout';
import { layerOffsets, type LayerSpec } from '../weights';
import { decodeFloat16, encodeFloat16 } from './float16';
import { decodeInt8, encodeInt8 } from './int8';
import { densify, topK, topKCount, topKWithFeedback, withErrorFeedback, type SparseVector } from './top-k';

export const COMPRESSIONS = ['none', 'topk', 'int8', 'float16'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** A sparse update travels as its indices and values, never as a dense array with zeros. */
export type EncodedDelta =
  | { encoding: 'topk'; indices: Uint32Array; values: Float32Array }
  | { encoding: 'int8'; scales: Float32Array; values: Int8Array }
  | { encoding: 'float16'; values: Uint16Array };

/** What a client sends as its delta: a plain Float32Array when the run does not compress. */
export type WireDelta = Float32Array | EncodedDelta;

export interface UplinkSettings {
  compress: Compression;
  /** Top-K: the fraction of coordinates sent. */
  topk: number;
  /** Top-K: carry the unsent remainder into the next update (default on; off is the ablation). */
  errorFeedback?: boolean;
}

/** Bytes of the vector payload: what the encoding puts on the wire (message headers and loss lists not counted). */
export function wireBytes(d: WireDelta): number {
  if (d instanceof Float32Array) return d.byteLength;
  if (d.encoding === 'topk') return d.indices.byteLength + d.values.byteLength;
  if (d.encoding === 'int8') return d.scales.byteLength + d.values.byteLength;
  return d.values.byteLength;
}

/** Bytes of a set of named vectors (a strategy's extras, up or down). */
export function vectorBytes(extras: Readonly<Record<string, Float32Array>> | undefined): number {
  let n = 0;
  for (const x of Object.values(extras ?? {})) n += x.byteLength;
  return n;
}

/** The buffers to transfer (not copy) when posting an encoded delta. */
export function wireBuffers(d: WireDelta): ArrayBufferLike[] {
  if (d instanceof Float32Array) return [d.buffer];
  if (d.encoding === 'float16') return [d.values.buffer];
  return d.encoding === 'topk' ? [d.indices.buffer, d.values.buffer] : [d.scales.buffer, d.values.buffer];
}

/**
 * A client's uplink encoder. Top-K keeps its error-feedback residual per run: a new run id (or a changed model
 * size) starts from zero, so nothing of an earlier run leaks into the next one.
 */
export class UplinkEncoder {
  private runId: string | null = null;
  private residual: Float32Array | null = null;

  /** `held`: the modalities a two-modality client holds; Top-K then picks its share within each of their blocks. */
  encode(delta: Float32Array, layers: readonly LayerSpec[], s: UplinkSettings, runId: string, held: readonly Modality[] = MODALITIES): WireDelta {
    if (runId !== this.runId || this.residual?.length !== delta.length) {
      this.runId = runId;
      this.residual = null;
    }
    switch (s.compress) {
      case 'none':
        return delta;
      case 'float16':
        return { encoding: 'float16', values: encodeFloat16(delta) };
      case 'int8':
        return { encoding: 'int8', ...encodeInt8(delta, layers) };
      case 'topk': {
        const blocks = topKBlocks(layers, held);
        const { sent, residual } = blocks
          ? withErrorFeedback(delta, this.residual, (p) => blockTopK(p, blocks, s.topk))
          : topKWithFeedback(delta, this.residual, topKCount(delta.length, s.topk));
        this.residual = s.errorFeedback === false ? null : residual;
        return { encoding: 'topk', ...sent };
      }
    }
  }

  /** The residual Top-K still owes the server (what the tests check). */
  pending(): Float32Array | null {
    return this.residual;
  }

  /** Everything the encoder carries from one round to the next, to hand a job to another thread and back. */
  save(): UplinkState {
    return { runId: this.runId, residual: this.residual };
  }

  static restore(state: UplinkState): UplinkEncoder {
    const e = new UplinkEncoder();
    e.runId = state.runId;
    e.residual = state.residual;
    return e;
  }
}

export interface UplinkState {
  runId: string | null;
  residual: Float32Array | null;
}

/**
 * A two-modality model's Top-K blocks: each held modality's parameters, and the shared ones, get their own
 * ⌈topk·|block|⌉ (one global K would let the modality with the larger updates starve the other); null for a
 * single-modality model.
 */
function topKBlocks(layers: readonly LayerSpec[], held: readonly Modality[]): Ranges[] | null {
  const b = modalityBlocks(layers);
  if (MODALITIES.every((m) => b[m].length === 0)) return null;
  return [...held.map((m) => b[m]), b.shared].filter((r) => r.length > 0);
}

/** Per coordinate, the index of its Top-K block (the blocks of topKBlocks with every modality held). */
function blockOfCoordinate(blocks: Ranges[], size: number): Uint8Array {
  const of = new Uint8Array(size);
  blocks.forEach((r, b) => {
    for (const [a, e] of r) of.fill(b, a, e);
  });
  return of;
}

/** At most K coordinates per block on a two-modality model (each block's own ⌈topk·|block|⌉), K overall otherwise. */
function checkTopKCounts(indices: Uint32Array, layers: readonly LayerSpec[], size: number, topk: number): void {
  const blocks = topKBlocks(layers, MODALITIES);
  if (!blocks) {
    const k = topKCount(size, topk);
    if (indices.length > k) throw new DeltaError('too-large', `top-k delta has ${indices.length} coordinates; topk ${topk} of ${size} allows ${k}`);
    return;
  }
  const total = blocks.reduce((n, r) => n + topKCount(rangesSize(r), topk), 0);
  if (indices.length > total) throw new DeltaError('too-large', `top-k delta has ${indices.length} coordinates; topk ${topk} allows ${total} over its blocks`);
  const of = blockOfCoordinate(blocks, size);
  const counts = new Array<number>(blocks.length).fill(0);
  for (const i of indices) if (i < size) counts[of[i]]++;
  counts.forEach((c, b) => {
    const k = topKCount(rangesSize(blocks[b]), topk);
    if (c > k) throw new DeltaError('too-large', `top-k delta has ${c} coordinates in one modality block; topk ${topk} of its ${rangesSize(blocks[b])} allows ${k}`);
  });
}

/** Each block's own ⌈topk·|block|⌉ largest |p_i|, merged in index order. */
function blockTopK(p: Float32Array, blocks: Ranges[], topk: number): SparseVector {
  const picked: number[] = [];
  for (const r of blocks) {
    // Position j of the gathered block → its coordinate in the flat vector.
    const coord = new Uint32Array(rangesSize(r));
    let k = 0;
    for (const [a, b] of r) for (let i = a; i < b; i++) coord[k++] = i;
    const s = topK(gatherRanges(p, r), topKCount(coord.length, topk));
    for (const j of s.indices) picked.push(coord[j]);
  }
  const indices = Uint32Array.from(picked).sort();
  return { indices, values: Float32Array.from(indices, (i) => p[i]) };
}

/** Why a received delta is refused; the protocol turns it into a rejection with this reason. */
export class DeltaError extends Error {
  constructor(
    readonly reason: 'malformed' | 'shape-mismatch' | 'non-finite' | 'too-large',
    detail: string,
  ) {
    super(detail);
  }
}

/** Decodes a received delta after checking it against the run's settings and the model's layers. */
export function decodeDelta(d: WireDelta, layers: readonly LayerSpec[], s: UplinkSettings): Float32Array {
  const off = layerOffsets(layers);
  const size = off[layers.length];
  const kind = d instanceof Float32Array ? 'none' : d.encoding;
  if (kind !== s.compress) throw new DeltaError('malformed', `this run's uplink is ${s.compress}; the update is ${kind === 'none' ? 'dense' : kind}`);
  if (d instanceof Float32Array) {
    if (d.length !== size) throw new DeltaError('shape-mismatch', `delta has ${d.length} values, model has ${size}`);
    return d;
  }
  if (d.encoding === 'float16') {
    if (d.values.length !== size) throw new DeltaError('shape-mismatch', `float16 delta has ${d.values.length} values, model has ${size}`);
    return decodeFloat16(d.values);
  }
  if (d.encoding === 'int8') {
    if (d.scales.length !== layers.length) throw new DeltaError('shape-mismatch', `int8 delta has ${d.scales.length} layer scales, model has ${layers.length} layers`);
    if (d.values.length !== size) throw new DeltaError('shape-mismatch', `int8 delta has ${d.values.length} values, model has ${size}`);
    for (let l = 0; l < d.scales.length; l++) {
      const sc = d.scales[l];
      if (!Number.isFinite(sc)) throw new DeltaError('non-finite', `int8 scale of layer ${layers[l].name} is ${sc}`);
      if (sc < 0) throw new DeltaError('malformed', `int8 scale of layer ${layers[l].name} is negative`);
    }
    for (let i = 0; i < d.values.length; i++) if (d.values[i] === -128) throw new DeltaError('malformed', `int8 value ${i} is −128 (the range is ±127)`);
    return decodeInt8(d, layers);
  }
  const { indices, values } = d;
  if (indices.length !== values.length) throw new DeltaError('malformed', `top-k delta has ${indices.length} indices and ${values.length} values`);
  checkTopKCounts(indices, layers, size, s.topk);
  for (let j = 0; j < indices.length; j++) {
    if (indices[j] >= size) throw new DeltaError('shape-mismatch', `top-k index ${indices[j]} is beyond the model's ${size} values`);
    if (j > 0 && indices[j] <= indices[j - 1]) throw new DeltaError('malformed', `top-k indices must be ascending and unique (${indices[j - 1]} then ${indices[j]})`);
    if (!Number.isFinite(values[j])) throw new DeltaError('non-finite', `top-k value at index ${indices[j]} is ${values[j]}`);
  }
  return densify(d, size);
}
