// A tiny assembler for the subset of the WebAssembly text format (WAT) that simd-module.ts is written in, so the
// module's bytes are built from its source at first use (no binary checked in, no toolchain): one module with its
// own memory (exported) and functions in flat (not folded) instruction syntax.
//   (module
//     (memory (export "name") <pages>)
//     (func $f (export "name") (param $p i32) ... (result f64)? (local $l v128) ...  instr*))
// Instructions: control (block/loop/if/else/end with optional $labels, br, br_if, return), local.get/set/tee by
// $name or index, the scalar and SIMD opcodes of OPS below with their memarg (offset=N align=N), lane and shuffle
// immediates, and i32/f32/f64 consts. Anything else is an error that names the token; wat.test.ts checks the
// encoding against hand-assembled bytes from the specification.

/** Opcodes without immediates (SIMD ones are 0xfd-prefixed, LEB128-encoded), and memory ops (memarg follows). */
const OPS: Record<string, number> = {
  unreachable: 0x00, nop: 0x01, drop: 0x1a, select: 0x1b, return: 0x0f,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a, 'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'f64.eq': 0x61, 'f64.ne': 0x62, 'f64.lt': 0x63, 'f64.gt': 0x64, 'f64.le': 0x65, 'f64.ge': 0x66,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73,
  'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76,
  'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3,
  'f64.convert_i32_s': 0xb7, 'f64.promote_f32': 0xbb,
};
const MEM_OPS: Record<string, [number, number]> = {
  // [opcode, natural alignment log2]
  'i32.load': [0x28, 2], 'f32.load': [0x2a, 2], 'f64.load': [0x2b, 3],
  'i32.store': [0x36, 2], 'f32.store': [0x38, 2], 'f64.store': [0x39, 3],
};
const SIMD_OPS: Record<string, number> = {
  'f32x4.splat': 0x13, 'f64x2.splat': 0x14,
  'f32x4.eq': 0x41, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'f64x2.eq': 0x47, 'f64x2.lt': 0x49, 'f64x2.gt': 0x4a, 'f64x2.le': 0x4b, 'f64x2.ge': 0x4c,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52,
  'f32x4.demote_f64x2_zero': 0x5e, 'f64x2.promote_low_f32x4': 0x5f,
  'f32x4.add': 0xe4, 'f32x4.sub': 0xe5, 'f32x4.mul': 0xe6, 'f32x4.div': 0xe7, 'f32x4.pmin': 0xea, 'f32x4.pmax': 0xeb,
  'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2, 'f64x2.div': 0xf3, 'f64x2.pmin': 0xf6, 'f64x2.pmax': 0xf7,
};
const SIMD_MEM_OPS: Record<string, [number, number]> = {
  'v128.load': [0x00, 4], 'v128.load64_splat': [0x0a, 3], 'v128.load64_zero': [0x5d, 3], 'v128.store': [0x0b, 4],
};
const SIMD_LANE_OPS: Record<string, number> = { 'f32x4.extract_lane': 0x1f, 'f64x2.extract_lane': 0x21, 'f64x2.replace_lane': 0x22 };
const TYPES: Record<string, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`wat: bad unsigned ${n}`);
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 32) throw new Error(`wat: bad signed ${n}`);
  n |= 0; // i32 constants: 0x80000000..0xffffffff are the negative ones
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

type SExpr = string | SExpr[];

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  const re = /\s+|;;[^\n]*|\(;[\s\S]*?;\)|(\()|(\))|("(?:[^"\\]|\\.)*")|([^\s()";]+)/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < src.length) {
    const at = re.lastIndex;
    m = re.exec(src);
    if (!m) throw new Error(`wat: cannot read ${JSON.stringify(src.slice(at, at + 20))}`);
    const t = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (t) tokens.push(t);
  }
  return tokens;
}

function parse(tokens: string[]): SExpr[] {
  const stack: SExpr[][] = [[]];
  for (const t of tokens) {
    if (t === '(') stack.push([]);
    else if (t === ')') {
      const done = stack.pop();
      if (!done || stack.length === 0) throw new Error('wat: unbalanced )');
      stack[stack.length - 1].push(done);
    } else stack[stack.length - 1].push(t);
  }
  if (stack.length !== 1) throw new Error('wat: unbalanced (');
  return stack[0];
}

const str = (s: string) => {
  const bytes = [...new TextEncoder().encode(JSON.parse(s) as string)];
  return [...uleb(bytes.length), ...bytes];
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

function f64Bytes(x: number): number[] {
  return [...new Uint8Array(new Float64Array([x]).buffer)];
}
function f32Bytes(x: number): number[] {
  return [...new Uint8Array(new Float32Array([x]).buffer)];
}

/** The instruction list of one function, encoded (without locals and size). */
function encodeBody(instrs: string[], locals: Map<string, number>, fname: string): number[] {
  const out: number[] = [];
  const labels: Array<string | null> = [];
  let i = 0;
  const next = () => {
    if (i >= instrs.length) throw new Error(`wat: ${fname}: missing immediate at the end`);
    return instrs[i++];
  };
  const int = (t: string) => {
    const v = Number(t.replace(/_/g, ''));
    if (!Number.isInteger(v)) throw new Error(`wat: ${fname}: expected an integer, got ${t}`);
    return v;
  };
  const localIndex = (t: string) => {
    if (t.startsWith('$')) {
      const v = locals.get(t);
      if (v === undefined) throw new Error(`wat: ${fname}: unknown local ${t}`);
      return v;
    }
    return int(t);
  };
  const labelDepth = (t: string) => {
    if (!t.startsWith('$')) return int(t);
    const d = labels.lastIndexOf(t);
    if (d < 0) throw new Error(`wat: ${fname}: unknown label ${t}`);
    return labels.length - 1 - d;
  };
  const memarg = (natural: number) => {
    let offset = 0, align = natural;
    while (i < instrs.length && /^(offset|align)=/.test(instrs[i])) {
      const [k, v] = instrs[i++].split('=');
      if (k === 'offset') offset = int(v);
      else align = Math.log2(int(v));
    }
    if (!Number.isInteger(align) || align > natural) throw new Error(`wat: ${fname}: bad alignment`);
    return [...uleb(align), ...uleb(offset)];
  };
  while (i < instrs.length) {
    const op = instrs[i++];
    if (op === 'block' || op === 'loop' || op === 'if') {
      const label = i < instrs.length && instrs[i].startsWith('$') ? instrs[i++] : null;
      labels.push(label);
      out.push(op === 'block' ? 0x02 : op === 'loop' ? 0x03 : 0x04, 0x40);
    } else if (op === 'else') out.push(0x05);
    else if (op === 'end') {
      if (labels.length === 0) throw new Error(`wat: ${fname}: end without block`);
      labels.pop();
      out.push(0x0b);
    } else if (op === 'br' || op === 'br_if') out.push(op === 'br' ? 0x0c : 0x0d, ...uleb(labelDepth(next())));
    else if (op === 'local.get' || op === 'local.set' || op === 'local.tee') {
      out.push({ 'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22 }[op], ...uleb(localIndex(next())));
    } else if (op === 'i32.const') out.push(0x41, ...sleb(int(next())));
    else if (op === 'f64.const') out.push(0x44, ...f64Bytes(Number(next())));
    else if (op === 'f32.const') out.push(0x43, ...f32Bytes(Number(next())));
    else if (op in OPS) out.push(OPS[op]);
    else if (op in MEM_OPS) out.push(MEM_OPS[op][0], ...memarg(MEM_OPS[op][1]));
    else if (op in SIMD_OPS) out.push(0xfd, ...uleb(SIMD_OPS[op]));
    else if (op in SIMD_MEM_OPS) out.push(0xfd, ...uleb(SIMD_MEM_OPS[op][0]), ...memarg(SIMD_MEM_OPS[op][1]));
    else if (op in SIMD_LANE_OPS) out.push(0xfd, ...uleb(SIMD_LANE_OPS[op]), int(next()));
    else if (op === 'i8x16.shuffle') {
      out.push(0xfd, 0x0d);
      for (let l = 0; l < 16; l++) {
        const lane = int(next());
        if (lane < 0 || lane > 31) throw new Error(`wat: ${fname}: shuffle lane ${lane}`);
        out.push(lane);
      }
    } else throw new Error(`wat: ${fname}: unknown instruction ${op}`);
  }
  if (labels.length) throw new Error(`wat: ${fname}: ${labels.length} block(s) not ended`);
  out.push(0x0b);
  return out;
}

/** Assembles the module text into a WebAssembly binary. */
export function assemble(src: string): Uint8Array<ArrayBuffer> {
  const top = parse(tokenize(src));
  if (top.length !== 1 || !Array.isArray(top[0]) || top[0][0] !== 'module') throw new Error('wat: expected one (module ...)');
  const fields = top[0].slice(1);
  const types: string[] = [];
  const typeBytes: number[][] = [];
  const funcTypes: number[] = [];
  const exports: number[][] = [];
  const codes: number[][] = [];
  let memory: number[] | null = null;
  for (const f of fields) {
    if (!Array.isArray(f)) throw new Error(`wat: unexpected ${f} in module`);
    if (f[0] === 'memory') {
      let rest = f.slice(1);
      if (Array.isArray(rest[0]) && rest[0][0] === 'export') {
        exports.push([...str(rest[0][1] as string), 0x02, 0]);
        rest = rest.slice(1);
      }
      memory = [0x00, ...uleb(Number(rest[0]))];
    } else if (f[0] === 'func') {
      const fname = typeof f[1] === 'string' && f[1].startsWith('$') ? f[1] : `#${funcTypes.length}`;
      const locals = new Map<string, number>();
      const params: number[] = [], results: number[] = [], localTypes: number[] = [];
      const instrs: string[] = [];
      for (const part of f.slice(fname.startsWith('$') ? 2 : 1)) {
        if (typeof part === 'string') {
          instrs.push(part);
          continue;
        }
        if (instrs.length) throw new Error(`wat: ${fname}: folded instructions are not supported`);
        const [kind, ...rest] = part as string[];
        if (kind === 'export') exports.push([...str(rest[0]), 0x00, ...uleb(funcTypes.length)]);
        else if (kind === 'param' || kind === 'local') {
          const named = rest[0]?.startsWith('$');
          const ts = named ? rest.slice(1) : rest;
          for (const t of ts) {
            if (!(t in TYPES)) throw new Error(`wat: ${fname}: unknown type ${t}`);
            if (named) locals.set(rest[0], params.length + localTypes.length);
            (kind === 'param' ? params : localTypes).push(TYPES[t]);
          }
          if (kind === 'param' && localTypes.length) throw new Error(`wat: ${fname}: param after local`);
        } else if (kind === 'result') for (const t of rest) results.push(TYPES[t]);
        else throw new Error(`wat: ${fname}: unexpected (${kind} ...)`);
      }
      const sig = `${params.join(',')}>${results.join(',')}`;
      let ti = types.indexOf(sig);
      if (ti < 0) {
        ti = types.push(sig) - 1;
        typeBytes.push([0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))]);
      }
      funcTypes.push(ti);
      const localGroups = localTypes.map((t) => [1, t]);
      const body = [...vec(localGroups), ...encodeBody(instrs, locals, fname)];
      codes.push([...uleb(body.length), ...body]);
    } else throw new Error(`wat: unsupported module field (${f[0]} ...)`);
  }
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(typeBytes)),
    ...section(3, vec(funcTypes.map((t) => uleb(t)))),
    ...(memory ? section(5, vec([memory])) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ];
  return new Uint8Array(bytes);
}
