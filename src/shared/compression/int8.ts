// Symmetric int8 quantisation with one scale per layer (layers differ in magnitude by orders: a shared scale would
// round the small ones to zero). q = round(x / s), s = max|x| / 127, so |x − q·s| ≤ s/2 for every coordinate.
import { layerOffsets, type LayerSpec } from '../weights';

export interface Int8Encoded {
  scales: Float32Array;
  values: Int8Array;
}

export function encodeInt8(x: Float32Array, layers: readonly LayerSpec[]): Int8Encoded {
  const off = layerOffsets(layers);
  const scales = new Float32Array(layers.length);
  const values = new Int8Array(x.length);
  for (let l = 0; l < layers.length; l++) {
    let max = 0;
    for (let i = off[l]; i < off[l + 1]; i++) max = Math.max(max, Math.abs(x[i]));
    // NaN/∞ make the scale non-finite, and the coordinator rejects the update as it would a dense one.
    const s = Number.isFinite(max) ? max / 127 : max;
    scales[l] = s;
    if (!(s > 0) || !Number.isFinite(s)) continue;
    for (let i = off[l]; i < off[l + 1]; i++) values[i] = Math.max(-127, Math.min(127, Math.round(x[i] / scales[l])));
  }
  return { scales, values };
}

export function decodeInt8(e: Int8Encoded, layers: readonly LayerSpec[]): Float32Array {
  const off = layerOffsets(layers);
  const out = new Float32Array(e.values.length);
  for (let l = 0; l < layers.length; l++) {
    const s = e.scales[l];
    for (let i = off[l]; i < off[l + 1]; i++) out[i] = e.values[i] * s;
  }
  return out;
}
