/**
 * Test strings for one model pattern: strings generated from its JavaScript translation (random walks of the
 * regex, so most of them match), near misses made from those (one character deleted, inserted or replaced, a
 * space or line break added), and a fixed corpus of awkward strings shared by every pattern. Java decides which of
 * them match (PatternOracle.java); a wrong translation shows up as a disagreement on some of them.
 */
import { mulberry32 } from '../../local/shared/random';

/**
 * Characters the generator picks from: ASCII, controls, line terminators Java and JavaScript read differently,
 * non-ASCII letters, marks, astral.
 */
export const POOL: string[] = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  ...['\t', '\n', '\r', '\u000b', '\f', '\u0000', '\u001f', '\u007f', '\u0085', '\u00a0', '\u2028', '\u3000'],
  ...['é', 'ß', 'Ω', '日', '€', '«', '\u0301', '\u200b', '\ufffd', '😀', '\u{10FFFF}', 'Ⅻ', '٣'],
];

/** Strings every pattern is tried on. */
export const CORPUS: string[] = [
  '',
  ' ',
  'a',
  'A',
  '0',
  '-',
  '_',
  '.',
  'abc',
  'ABC123',
  'a-b',
  'a_b',
  'a--b',
  '-ab',
  'ab-',
  'a b',
  ' a',
  'a ',
  'a\n',
  '\n',
  'a\nb',
  'a\r\nb',
  'a\tb',
  'x'.repeat(300),
  'é',
  '日本語',
  '😀',
  'a\u0085',
  'a\u2028b',
  '\u00a0',
  '\u0000',
  '\u007f',
  'arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1',
  'arn:aws:sagemaker:us-east-1:123456789012:model-package/group/3',
  'arn:aws:iam::123456789012:role/SageMakerRole',
  'arn:aws:iam::123456789012:role/service-role/codebuild-role',
  'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  's3://bucket/key/path',
  's3://bucket',
  'https://bucket.s3.amazonaws.com/key',
  'ml.p4de.24xlarge',
  `123456789012.dkr.ecr.us-east-1.amazonaws.com/jax@sha256:${'0'.repeat(64)}`,
  '123456789012.dkr.ecr.us-east-1.amazonaws.com/jax:latest',
  '{"a":1}',
  '1.2.3',
  'v1.0.0-beta+exp',
  '../etc',
  '/opt/ml/checkpoints',
  'key=value',
  'a:b',
  'a*b',
  'a|b',
  "it's",
  'a.b.c',
  '.hidden',
  'eni-12345678',
  'i-0123456789abcdef0',
  's3:bucket',
  'abc\u0301',
  'pipeline:workflow-id',
  'train_loss=([0-9.]+)',
  'lm-migration-0123abc-train-001',
];

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

type Node =
  | { t: 'chars'; set: string[] }
  | { t: 'empty' }
  | { t: 'seq'; items: { node: Node; min: number; max: number }[] }
  | { t: 'alt'; options: Node[] };

/** A parser for the JavaScript this project's translator emits (a small, regular subset). */
class Parser {
  i = 0;
  constructor(readonly src: string) {}

  alt(): Node {
    const options = [this.seq()];
    while (this.src[this.i] === '|') {
      this.i++;
      options.push(this.seq());
    }
    return options.length === 1 ? (options[0] as Node) : { t: 'alt', options };
  }

  seq(): Node {
    const items: { node: Node; min: number; max: number }[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const node = this.atom();
      const q = this.quant();
      items.push({ node, ...q });
    }
    return { t: 'seq', items };
  }

  quant(): { min: number; max: number } {
    const c = this.src[this.i];
    let q = { min: 1, max: 1 };
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i)) as RegExpExecArray;
      this.i += m[0].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (this.src[this.i] === '?') this.i++;
      return { min, max };
    } else return q;
    this.i++;
    if (this.src[this.i] === '?') this.i++;
    return q;
  }

  atom(): Node {
    const c = this.src[this.i] as string;
    if (c === '(') {
      const m = /^\((\?:|\?=|\?!|\?<=|\?<!|\?<[a-zA-Z][a-zA-Z0-9]*>)?/.exec(this.src.slice(this.i)) as RegExpExecArray;
      this.i += m[0].length;
      const inner = this.alt();
      this.i++; // ')'
      return m[1] && /^\?(=|!|<=|<!)$/.test(m[1]) ? { t: 'empty' } : inner;
    }
    if (c === '[') {
      let j = this.i + 1;
      if (this.src[j] === '^') j++;
      if (this.src[j] === ']') j++; // [^]
      while (this.src[j] !== ']')
        j += this.src[j] === '\\' ? (/^\\[up]\{/.test(this.src.slice(j)) ? this.src.indexOf('}', j) - j + 1 : 2) : 1;
      const cls = this.src.slice(this.i, j + 1);
      this.i = j + 1;
      const re = new RegExp(`^${cls}$`, 'u');
      return { t: 'chars', set: POOL.filter((ch) => re.test(ch)) };
    }
    if (c === '^' || c === '$') {
      this.i++;
      return { t: 'empty' };
    }
    if (c === '\\' && /^\\[pP]\{/.test(this.src.slice(this.i))) {
      const end = this.src.indexOf('}', this.i) + 1;
      const re = new RegExp(`^${this.src.slice(this.i, end)}$`, 'u');
      this.i = end;
      return { t: 'chars', set: POOL.filter((ch) => re.test(ch)) };
    }
    if (c === '\\') {
      const m = /^\\(u\{([0-9A-Fa-f]+)\}|k<[^>]+>|[1-9]|.)/u.exec(this.src.slice(this.i)) as RegExpExecArray;
      this.i += m[0].length;
      if (m[2]) return { t: 'chars', set: [String.fromCodePoint(parseInt(m[2], 16))] };
      const e = m[1] as string;
      if (e.startsWith('k<') || /^[1-9]$/.test(e)) return { t: 'empty' };
      const special: Record<string, string> = { n: '\n', r: '\r', t: '\t', f: '\f' };
      return { t: 'chars', set: [special[e] ?? e] };
    }
    const ch = String.fromCodePoint(this.src.codePointAt(this.i) as number);
    this.i += ch.length;
    return { t: 'chars', set: [ch] };
  }
}

function generate(node: Node, rand: () => number): string {
  switch (node.t) {
    case 'empty':
      return '';
    case 'chars':
      return node.set.length ? (node.set[Math.floor(rand() * node.set.length)] as string) : '';
    case 'alt':
      return generate(node.options[Math.floor(rand() * node.options.length)] as Node, rand);
    case 'seq':
      return node.items
        .map(({ node: n, min, max }) => {
          const count = Math.min(max, min + Math.floor(rand() * 4));
          return Array.from({ length: count }, () => generate(n, rand)).join('');
        })
        .join('');
  }
}

/** Strings for one pattern from its JavaScript translation: `n` random walks and near misses of each. */
export function samplesFor(pattern: string, jsSource: string | undefined, n = 6): string[] {
  const rand = mulberry32(hash(pattern));
  const out = new Set<string>();
  if (jsSource) {
    const tree = new Parser(jsSource.slice(4, -2)).alt();
    for (let k = 0; k < n; k++) {
      const s = generate(tree, rand);
      out.add(s);
      const chars = [...s];
      const at = Math.floor(rand() * (chars.length + 1));
      const pick = POOL[Math.floor(rand() * POOL.length)] as string;
      out.add([...chars.slice(0, at), pick, ...chars.slice(at)].join(''));
      if (chars.length) {
        out.add([...chars.slice(0, at), ...chars.slice(at + 1)].join(''));
        out.add([...chars.slice(0, at), pick, ...chars.slice(at + 1)].join(''));
      }
      if (k === 0) {
        out.add(`${s}\n`);
        out.add(` ${s}`);
        out.add(`${s}\u0085`);
      }
    }
  }
  for (const c of CORPUS) out.delete(c);
  return [...out];
}
