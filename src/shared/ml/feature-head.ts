// What can sit between a model's body and its classifier (spec §6): nothing, FedAKD's feature attention on the
// penultimate features, or attention pooling over the last conv map instead of flattening it. Kept free of
// TensorFlow.js because the config schema and the strategy definitions name these values.
export const FEATURE_HEADS = ['none', 'feature', 'pooling'] as const;
export type FeatureHead = (typeof FEATURE_HEADS)[number];
