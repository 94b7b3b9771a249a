import { describe, expect, it } from 'vitest';
import { formatBytes } from '../shared/format-bytes';
import { roundTableHtml } from './round-table';
import { modalityCell, trafficSummaryHtml, unimodalSummaryHtml } from './traffic-view';

describe('traffic and modality views', () => {
  it('formats bytes in decimal units', () => {
    expect([formatBytes(999), formatBytes(1000), formatBytes(4_503_000), formatBytes(123_456_789)]).toEqual(['999 B', '1.00 kB', '4.50 MB', '123 MB']);
  });

  it('sums the run and compares the uplink with dense float32', () => {
    const h = [{ bytesUp: 200, bytesDown: 4000, denseBytesUp: 1000 }, { bytesUp: 200, bytesDown: 4000, denseBytesUp: 1000 }];
    const html = trafficSummaryHtml(h, 'topk');
    expect(html).toContain('200 B last round, 400 B in all');
    expect(html).toContain('topk: 20% of dense 2.00 kB');
    expect(html).toContain('<b>downlink</b> 4.00 kB last round, 8.00 kB in all');
    expect(trafficSummaryHtml([{}], 'none')).toBe(''); // a record from before bytes were counted
  });

  it('shows each modality alone and what a client holds', () => {
    expect(unimodalSummaryHtml({ round: 3, unimodalAccuracy: { mnist: 0.564, fashion: 0.291 } })).toContain('MNIST digits 56.4%, Fashion-MNIST 29.1%');
    expect(unimodalSummaryHtml({ round: 3, unimodalAccuracy: null })).toBe('');
    expect([modalityCell(['mnist', 'fashion']), modalityCell(['fashion']), modalityCell(null)]).toEqual(['both', 'Fashion-MNIST only', '']);
    const table = roundTableHtml([{ round: 1, accuracy: 0.5, loss: 1, unimodalAccuracy: { mnist: 0.4, fashion: 0.2 }, bytesUp: 2_000_000, denseBytesUp: 10_000_000 }]);
    expect(table).toContain('<th>MNIST alone</th><th>Fashion alone</th>');
    expect(table).toContain('<td>40.0%</td><td>20.0%</td>');
    expect(table).toContain('<td>2.00 MB</td><td>20.0%</td>');
  });
});

describe('label histograms', () => {
  it('names the classes and shows the counts', async () => {
    const { histogramSvg, labelledHistogramSvg } = await import('./html');
    expect(histogramSvg([3, 0], 100, 20, ['T-shirt/top', 'Trouser'])).toContain('<title>0 (T-shirt/top): 3</title>');
    expect(histogramSvg([3, 0], 100, 20, ['0', '1'])).toContain('<title>class 0: 3</title>');
    const svg = labelledHistogramSvg([12, 0, 5], ['Sandal', 'Shirt', 'Sneaker']);
    expect(svg).toContain('>12</text>');
    expect(svg).toContain('>Sneaker</text>');
    expect(svg).toContain('my training images per class');
  });
});
