// Which parameters belong to which modality in a multimodal model (architectures/multimodal.ts): every layer of
// modality m's encoder and head is named `${m}_…`, so a flat weight vector splits into per-modality blocks by its
// layer names alone. Clients train, compress and send per block; SSCA aggregates per block. Pure and tf-free.
import { MODALITIES, type Modality } from '../data/paired-modalities';
import { layerOffsets, type LayerSpec } from '../weights';

/** Half-open coordinate ranges [start, end) of the flat vector. */
export type Ranges = ReadonlyArray<readonly [number, number]>;

export function modalityOfLayer(name: string): Modality | null {
  for (const m of MODALITIES) if (name.startsWith(`${m}_`)) return m;
  return null;
}

/** Per modality, the coordinate ranges of its layers; `shared`: layers of no modality (a concatenation head). */
export function modalityBlocks(layers: readonly LayerSpec[]): Record<Modality | 'shared', Ranges> {
  const off = layerOffsets(layers);
  const out: Record<Modality | 'shared', Array<[number, number]>> = { mnist: [], fashion: [], shared: [] };
  layers.forEach((l, i) => out[modalityOfLayer(l.name) ?? 'shared'].push([off[i], off[i + 1]]));
  return out;
}

export function rangesSize(r: Ranges): number {
  return r.reduce((n, [a, b]) => n + b - a, 0);
}

/** The coordinates of x in `r`, concatenated. */
export function gatherRanges(x: Float32Array, r: Ranges): Float32Array {
  const out = new Float32Array(rangesSize(r));
  let k = 0;
  for (const [a, b] of r) {
    out.set(x.subarray(a, b), k);
    k += b - a;
  }
  return out;
}

/** Writes `part` (as gatherRanges made it) back into x's ranges. */
export function scatterRanges(x: Float32Array | Float64Array, r: Ranges, part: ArrayLike<number>): void {
  let k = 0;
  for (const [a, b] of r) for (let i = a; i < b; i++) x[i] = part[k++];
}
