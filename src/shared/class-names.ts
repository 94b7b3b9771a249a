// What each class index means, as a student reads it: digits, Fashion-MNIST's garment names, or both for the pair.
import type { DatasetId } from './config';

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export function classNames(dataset: DatasetId): string[] {
  if (dataset === 'fashion-mnist') return [...FASHION];
  if (dataset === 'mnist+fashion') return DIGITS.map((d, i) => `${d} · ${FASHION[i]}`);
  return [...DIGITS];
}
