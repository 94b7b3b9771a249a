// "Test the model yourself": draw a digit (mouse, pen or finger) or pick a test image, and see what the model says,
// class by class. The host says how to predict (the coordinator's global model, or a client's own models) and calls
// refresh() when a new round's model is in, so the answer follows training.
import { esc } from './html';
import { toMnistPixels } from './mnist-pixels';

export interface PadPrediction {
  label: string;
  round: number | null;
  probabilities: number[];
}

export interface DrawPadOptions {
  /** One or more models' answers on 784 MNIST-style pixels (null: no model yet). */
  predict(pixels: Uint8Array): Promise<PadPrediction[] | null>;
  classNames(): string[];
  /** An image to try and its label, for "pick a test image" (omitted: no button). */
  testImage?(): Promise<{ pixels: Uint8Array; label: number } | null>;
  /** The button's text (default "Pick a test image"). */
  testImageLabel?: string;
}

const SIZE = 196; // 7 × 28: strokes of the brush below look like MNIST's at 28×28

export function mountDrawPad(root: HTMLElement, opts: DrawPadOptions): { refresh(): void } {
  root.innerHTML = `<div class="draw-pad">
    <div class="pad-side"><canvas width="${SIZE}" height="${SIZE}" aria-label="draw a digit here" title="draw a digit here"></canvas>
    <div class="pad-buttons"><button type="button" data-act="clear">Clear</button>${opts.testImage ? `<button type="button" data-act="pick">${esc(opts.testImageLabel ?? 'Pick a test image')}</button>` : ''}</div>
    <p class="pad-note"></p></div>
    <div class="pad-answers"><p>Draw a digit on the black square.</p></div></div>`;
  const canvas = root.querySelector('canvas')!;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const note = root.querySelector<HTMLElement>('.pad-note')!;
  const answers = root.querySelector<HTMLElement>('.pad-answers')!;
  let picked: Uint8Array | null = null;
  let drawn = false;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, SIZE, SIZE);
    picked = null;
    drawn = false;
    note.textContent = '';
    answers.innerHTML = '<p>Draw a digit on the black square.</p>';
  };
  clear();

  const pixels = (): Uint8Array | null => {
    if (picked) return picked;
    if (!drawn) return null;
    const d = ctx.getImageData(0, 0, SIZE, SIZE).data;
    const gray = new Uint8Array(SIZE * SIZE);
    for (let i = 0; i < gray.length; i++) gray[i] = d[4 * i];
    return toMnistPixels(gray, SIZE, SIZE);
  };

  let pending = 0;
  const refresh = () => {
    const p = pixels();
    if (!p) return;
    const ticket = ++pending;
    void opts.predict(p).then(
      (out) => {
        if (ticket !== pending) return;
        answers.innerHTML = out ? out.map((o) => answerHtml(o, opts.classNames())).join('') : '<p>No model yet: start a run.</p>';
      },
      (e: unknown) => (answers.innerHTML = `<p class="error">${esc(e instanceof Error ? e.message : String(e))}</p>`),
    );
  };

  let last: { x: number; y: number } | null = null;
  const at = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * SIZE) / r.width, y: ((e.clientY - r.top) * SIZE) / r.height };
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (picked) clear();
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
    stroke(last, last);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    stroke(last, p);
    last = p;
  });
  const end = () => {
    if (!last) return;
    last = null;
    refresh();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.style.touchAction = 'none'; // a finger draws instead of scrolling the page
  function stroke(a: { x: number; y: number }, b: { x: number; y: number }): void {
    drawn = true;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 16;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }

  root.querySelector('[data-act="clear"]')!.addEventListener('click', clear);
  root.querySelector('[data-act="pick"]')?.addEventListener('click', async () => {
    const t = await opts.testImage!();
    if (!t) return;
    const img = ctx.createImageData(28, 28);
    t.pixels.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
    const tmp = document.createElement('canvas');
    tmp.width = tmp.height = 28;
    tmp.getContext('2d')!.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, 0, 0, SIZE, SIZE);
    picked = t.pixels;
    note.textContent = `an image of class ${opts.classNames()[t.label] ?? t.label}`;
    refresh();
  });
  return { refresh };
}

function answerHtml(o: PadPrediction, names: string[]): string {
  const best = o.probabilities.indexOf(Math.max(...o.probabilities));
  const bars = o.probabilities
    .map((p, c) => `<div class="pad-bar${c === best ? ' best' : ''}"><span class="pad-name">${esc(names[c] ?? String(c))}</span><span class="pad-fill" style="width:${(100 * p).toFixed(1)}%"></span><span class="pad-p">${(100 * p).toFixed(1)}%</span></div>`)
    .join('');
  return `<div class="pad-answer"><h3>${esc(o.label)}${o.round !== null ? ` <small>after round ${o.round}</small>` : ''}: <b>${esc(names[best] ?? String(best))}</b></h3>${bars}</div>`;
}
