// Raw 28×28 images as bytes: picking some out of a split, and placing a lone image in a model's input channels.
// Pure and tf-free, so the data modules use it as the models do.
const PIXELS = 28 * 28;

/** The images at `indices`, copied into one contiguous array (28×28×channels bytes each). */
export function pickImages(images: Uint8Array, indices: ArrayLike<number>, channels = 1): Uint8Array {
  const pixels = PIXELS * channels;
  const out = new Uint8Array(indices.length * pixels);
  for (let k = 0; k < indices.length; k++) out.set(images.subarray(indices[k] * pixels, (indices[k] + 1) * pixels), k * pixels);
  return out;
}

/** One 28×28 image as a `channels`-channel input: in channel 0 (a two-modality model's MNIST image), zeros elsewhere. */
export function imageAsInput(image: Uint8Array, channels: number): Uint8Array {
  if (channels === 1) return image;
  const out = new Uint8Array(PIXELS * channels);
  for (let i = 0; i < PIXELS; i++) out[i * channels] = image[i];
  return out;
}
