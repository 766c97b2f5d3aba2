/**
 * Translates the Java regular expressions of AWS's service models (botocore's `pattern` fields are the patterns
 * AWS's Java services compile with `java.util.regex.Pattern` and apply with `Matcher.matches()`) into JavaScript
 * regular expressions with the same meaning. What JavaScript lacks or reads differently is rewritten:
 *  - whole-string matching (`matches()`): the translation is anchored `^(?:…)$`;
 *  - `.`, `$`, `\s`, `\S`, `\v`, `\h`, `\R` take Java's definitions (Java's `.` also excludes U+0085; its `$` also
 *    matches before a final line terminator; its `\s` is ASCII-only; its `\b` knows every script's letters);
 *  - POSIX classes (`\p{Print}`, `\p{ASCII}`, `\p{Alnum}`, …), `\A`, `\z`, `\Z`, `\Q…\E`, `\uD800\uDC00` surrogate
 *    pairs, octal and `\x{…}` escapes, identity escapes of any punctuation;
 *  - quantified assertions (`${1,128}`, which Java accepts and reads as `$`).
 * What cannot be translated faithfully (possessive quantifiers, atomic groups, inline flags, class intersections,
 * Unicode blocks and scripts, `\G`, `\X`) raises {@link UntranslatablePattern}: never a silent approximation.
 * Java's own semantics: https://docs.oracle.com/en/java/javase/17/docs/api/java.base/java/util/regex/Pattern.html
 */

/** A Java pattern this translator cannot express in JavaScript with the same meaning. */
export class UntranslatablePattern extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`cannot translate Java pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.name = 'UntranslatablePattern';
  }
}

/** Java's line terminators (for `.` and `$` without flags). */
const LINE_TERMINATORS = '\\n\\r\\u{85}\\u{2028}\\u{2029}';
/** Java's `$` without MULTILINE: the end of input, or before a line terminator that ends the input. */
const JAVA_DOLLAR = '(?=(?:\\r\\n|[\\n\\r\\u{85}\\u{2028}\\u{2029}])?$)';
/** Java's `\s` (ASCII whitespace only), as class content. */
const JAVA_SPACE = ' \\t\\n\\u{B}\\f\\r';
const JAVA_HSPACE = ' \\t\\u{A0}\\u{1680}\\u{180E}\\u{2000}-\\u{200A}\\u{202F}\\u{205F}\\u{3000}';
const JAVA_VSPACE = '\\n\\u{B}\\f\\r\\u{85}\\u{2028}\\u{2029}';

/**
 * Java's word boundary: a word character is a letter, a decimal digit or `_` (`Character.isLetterOrDigit`, not
 * ASCII-only like JavaScript's `\b`), and a non-spacing mark counts as one when it follows a letter or digit.
 */
const WORD_BEFORE = '(?<=[\\p{L}\\p{Nd}_]|[\\p{L}\\p{Nd}]\\p{Mn}+)';
const NOT_WORD_BEFORE = '(?<![\\p{L}\\p{Nd}_]|[\\p{L}\\p{Nd}]\\p{Mn}+)';
const WORD_AFTER = '(?=[\\p{L}\\p{Nd}_]|\\p{Mn}(?<=[\\p{L}\\p{Nd}]\\p{Mn}+))';
const NOT_WORD_AFTER = '(?![\\p{L}\\p{Nd}_]|\\p{Mn}(?<=[\\p{L}\\p{Nd}]\\p{Mn}+))';

/** POSIX character classes: US-ASCII only, as Java defines them without UNICODE_CHARACTER_CLASS. */
const POSIX: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\u{0}-\\u{7F}',
  Alpha: 'a-zA-Z',
  Digit: '0-9',
  Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\u{0}-\\u{1F}\\u{7F}',
  XDigit: '0-9a-fA-F',
  Space: JAVA_SPACE,
};

/** Unicode general categories, which JavaScript's `\p{…}` (with the `u` flag) knows by the same names. */
const CATEGORIES = new Set(
  'L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Co Cs Cn'.split(' '),
);

/** A piece of a character class: content that fits inside `[…]`, or the complement of such content. */
type ClassItem = { kind: 'in'; text: string } | { kind: 'not'; text: string };

/** One code point as a JavaScript escape that is valid anywhere in a `u`-mode pattern. */
function cp(code: number): string {
  const c = String.fromCodePoint(code);
  return /[A-Za-z0-9_]/.test(c) ? c : `\\u{${code.toString(16).toUpperCase()}}`;
}

class Translator {
  private i = 0;
  private readonly src: number[];

  constructor(readonly pattern: string) {
    this.src = [...pattern].map((c) => c.codePointAt(0) as number);
  }

  private fail(reason: string): never {
    throw new UntranslatablePattern(this.pattern, reason);
  }

  private peek(offset = 0): string | undefined {
    const c = this.src[this.i + offset];
    return c === undefined ? undefined : String.fromCodePoint(c);
  }

  private next(): string {
    const c = this.peek();
    if (c === undefined) this.fail('unexpected end of pattern');
    this.i++;
    return c;
  }

  translate(): string {
    const out = this.sequence(false);
    if (this.i < this.src.length) this.fail(`unbalanced ')' at ${this.i}`);
    return out;
  }

  /** A sequence up to the end or the closing parenthesis of the current group. */
  private sequence(inGroup: boolean): string {
    let out = '';
    while (this.i < this.src.length) {
      const c = this.peek() as string;
      if (c === ')') {
        if (!inGroup) this.fail(`unbalanced ')' at ${this.i}`);
        return out;
      }
      if (c === '|') {
        this.i++;
        out += '|';
        continue;
      }
      const atom = this.atom();
      out += this.quantified(atom);
    }
    if (inGroup) this.fail('unclosed group');
    return out;
  }

  /** Applies a following quantifier to an atom. Assertions quantified at least once are the assertion itself. */
  private quantified(atom: { text: string; assertion: boolean }): string {
    const q = this.quantifier();
    if (!q) return atom.text;
    if (atom.assertion) return q.min >= 1 ? atom.text : '';
    if (atom.text === '') this.fail('quantifier without an atom');
    return atom.text + q.text;
  }

  private quantifier(): { text: string; min: number } | undefined {
    const c = this.peek();
    let text: string;
    let min: number;
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      text = c;
      min = c === '+' ? 1 : 0;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.rest());
      if (!m) this.fail(`'{' at ${this.i} is not a quantifier (Java rejects it)`);
      this.i += m[0].length;
      text = m[0];
      min = Number(m[1]);
      if (m[3] !== undefined && m[3] !== '' && Number(m[3]) < min) this.fail(`bad repetition ${m[0]}`);
    } else return undefined;
    const mod = this.peek();
    if (mod === '?') {
      this.i++;
      text += '?';
    } else if (mod === '+') this.fail('possessive quantifier');
    return { text, min };
  }

  private rest(): string {
    return String.fromCodePoint(...this.src.slice(this.i));
  }

  private atom(): { text: string; assertion: boolean } {
    const c = this.next();
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return { text: this.charClass(), assertion: false };
      case '.':
        return { text: `[^${LINE_TERMINATORS}]`, assertion: false };
      case '^':
        return { text: '^', assertion: true };
      case '$':
        return { text: JAVA_DOLLAR, assertion: true };
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
        return this.fail(`dangling quantifier '${c}' at ${this.i - 1}`);
      case '{':
        return this.fail(`'{' at ${this.i - 1} is not a quantifier (Java rejects it)`);
      default:
        return { text: cp(c.codePointAt(0) as number), assertion: false };
    }
  }

  private group(): { text: string; assertion: boolean } {
    let open = '(';
    let assertion = false;
    if (this.peek() === '?') {
      const r = this.rest();
      const m = /^\?(:|=|!|<=|<!|<([a-zA-Z][a-zA-Z0-9]*)>)/.exec(r);
      if (!m) this.fail(`unsupported group construct '(${r.slice(0, 3)}' (atomic group or inline flags)`);
      this.i += m[0].length;
      open = `(${m[0]}`;
      assertion = m[1] !== ':' && m[2] === undefined;
    }
    const body = this.sequence(true);
    this.next(); // ')'
    return { text: `${open}${body})`, assertion };
  }

  /** `\p{Name}`, `\pL`, `\P{…}`: class content and whether it is negated. */
  private property(negated: boolean): ClassItem {
    let name: string;
    if (this.peek() === '{') {
      const m = /^\{([^}]*)\}/.exec(this.rest());
      if (!m) this.fail('unclosed \\p{');
      this.i += m[0].length;
      name = m[1] as string;
    } else name = this.next();
    const bare = name.replace(/^Is/, '').replace(/^(gc|general_category)=/, '');
    let text: string | undefined;
    if (POSIX[name] !== undefined) text = POSIX[name];
    else if (CATEGORIES.has(bare)) text = `\\p{${bare}}`;
    else if (bare === 'Alphabetic' || bare === 'Letter') text = bare === 'Letter' ? '\\p{L}' : '\\p{Alphabetic}';
    if (text === undefined) this.fail(`unsupported property \\p{${name}}`);
    return { kind: negated ? 'not' : 'in', text };
  }

  /** An escape after `\` outside a class. */
  private escape(): { text: string; assertion: boolean } {
    const c = this.peek();
    switch (c) {
      case 'A':
        this.i++;
        return { text: '^', assertion: true };
      case 'z':
        this.i++;
        return { text: '$', assertion: true };
      case 'Z':
        this.i++;
        return { text: JAVA_DOLLAR, assertion: true };
      case 'b':
        this.i++;
        return { text: `(?:${WORD_BEFORE}${NOT_WORD_AFTER}|${NOT_WORD_BEFORE}${WORD_AFTER})`, assertion: true };
      case 'B':
        this.i++;
        return { text: `(?:${WORD_BEFORE}${WORD_AFTER}|${NOT_WORD_BEFORE}${NOT_WORD_AFTER})`, assertion: true };
      case 'G':
      case 'X':
      case 'N':
        return this.fail(`unsupported escape \\${c}`);
      case 'R':
        this.i++;
        return { text: `(?:\\r\\n|[${JAVA_VSPACE}])`, assertion: false };
      case 'Q': {
        this.i++;
        const end = this.rest().indexOf('\\E');
        const lit = end < 0 ? this.rest() : this.rest().slice(0, end);
        this.i += [...lit].length + (end < 0 ? 0 : 2);
        return { text: [...lit].map((ch) => cp(ch.codePointAt(0) as number)).join(''), assertion: false };
      }
      case 'k': {
        const m = /^k<([a-zA-Z][a-zA-Z0-9]*)>/.exec(this.rest());
        if (!m) this.fail('bad \\k reference');
        this.i += m[0].length;
        return { text: `\\k<${m[1]}>`, assertion: false };
      }
      default:
        break;
    }
    if (c !== undefined && /[1-9]/.test(c)) {
      this.i++;
      return { text: `\\${c}`, assertion: false };
    }
    const item = this.classEscape();
    if (typeof item === 'number') return { text: cp(item), assertion: false };
    return { text: item.kind === 'in' ? `[${item.text}]` : `[^${item.text}]`, assertion: false };
  }

  /** An escape that means a character or a set (valid both inside and outside classes). */
  private classEscape(): number | ClassItem {
    const c = this.next();
    switch (c) {
      case 'd':
        return { kind: 'in', text: '0-9' };
      case 'D':
        return { kind: 'not', text: '0-9' };
      case 'w':
        return { kind: 'in', text: 'a-zA-Z0-9_' };
      case 'W':
        return { kind: 'not', text: 'a-zA-Z0-9_' };
      case 's':
        return { kind: 'in', text: JAVA_SPACE };
      case 'S':
        return { kind: 'not', text: JAVA_SPACE };
      case 'h':
        return { kind: 'in', text: JAVA_HSPACE };
      case 'H':
        return { kind: 'not', text: JAVA_HSPACE };
      case 'v':
        return { kind: 'in', text: JAVA_VSPACE };
      case 'V':
        return { kind: 'not', text: JAVA_VSPACE };
      case 'p':
        return this.property(false);
      case 'P':
        return this.property(true);
      case 't':
        return 9;
      case 'n':
        return 10;
      case 'r':
        return 13;
      case 'f':
        return 12;
      case 'a':
        return 7;
      case 'e':
        return 27;
      case 'c':
        return (this.next().codePointAt(0) as number) ^ 64;
      case '0': {
        const m = /^[0-3]?[0-7]?[0-7]/.exec(this.rest());
        if (!m) this.fail('bad octal escape');
        this.i += m[0].length;
        return parseInt(m[0], 8);
      }
      case 'x': {
        const m = /^(?:([0-9a-fA-F]{2})|\{([0-9a-fA-F]+)\})/.exec(this.rest());
        if (!m) this.fail('bad \\x escape');
        this.i += m[0].length;
        return parseInt((m[1] ?? m[2]) as string, 16);
      }
      case 'u':
        return this.unicodeEscape();
      default:
        if (/[A-Za-z0-9]/.test(c)) this.fail(`unknown escape \\${c} (Java rejects it)`);
        return c.codePointAt(0) as number;
    }
  }

  /** `\uXXXX`, combining an escaped surrogate pair into one code point as Java does. */
  private unicodeEscape(): number {
    const hex = (): number => {
      const m = /^[0-9a-fA-F]{4}/.exec(this.rest());
      if (!m) this.fail('bad \\u escape');
      this.i += 4;
      return parseInt(m[0], 16);
    };
    const n = hex();
    if (n >= 0xd800 && n <= 0xdbff && this.peek() === '\\' && this.peek(1) === 'u') {
      const save = this.i;
      this.i += 2;
      const low = hex();
      if (low >= 0xdc00 && low <= 0xdfff) return (n - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
      this.i = save;
    }
    return n;
  }

  /** A class body after `[`, following Java's parser: `a-b` ranges, `-` literal where it cannot start a range. */
  private charClass(): string {
    let negated = false;
    if (this.peek() === '^') {
      this.i++;
      negated = true;
    }
    const items: ClassItem[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unclosed character class');
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      if (c === ']') this.fail("']' right after '[' (Java reads it differently)");
      if (c === '[') this.fail('nested character class (union)');
      if (c === '&' && this.peek(1) === '&') this.fail('character class intersection (&&)');
      first = false;
      const start = this.classAtom();
      if (typeof start !== 'number') {
        items.push(start);
        continue;
      }
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        if (this.peek(1) === '[') this.fail('range into a nested class');
        this.i++;
        const end = this.classAtom();
        if (typeof end !== 'number') this.fail('range ending in a character set');
        if (end < start) this.fail('illegal character range');
        items.push({ kind: 'in', text: `${cp(start)}-${cp(end)}` });
      } else items.push({ kind: 'in', text: cp(start) });
    }
    const inside = items
      .filter((x) => x.kind === 'in')
      .map((x) => x.text)
      .join('');
    const complements = items.filter((x) => x.kind === 'not').map((x) => `[^${x.text}]`);
    if (complements.length === 0) return `[${negated ? '^' : ''}${inside}]`;
    // A union with complemented sets (Java's `[\S\s]`, `[a\P{L}]`) has no single-class form without the `v` flag.
    const union = `(?:${[...(inside ? [`[${inside}]`] : []), ...complements].join('|')})`;
    return negated ? `(?!${union})[^]` : union;
  }

  private classAtom(): number | ClassItem {
    const c = this.next();
    if (c !== '\\') return c.codePointAt(0) as number;
    if (this.peek() === 'Q') this.fail('\\Q inside a character class');
    return this.classEscape();
  }
}

/** The JavaScript source (for `new RegExp(source, 'u')`) that matches exactly the strings Java's `matches()` does. */
export function translateJavaRegex(pattern: string): string {
  return `^(?:${new Translator(pattern).translate()})$`;
}

/** Compiles a Java pattern for whole-string matching, or throws {@link UntranslatablePattern}. */
export function compileJavaRegex(pattern: string): RegExp {
  const source = translateJavaRegex(pattern);
  try {
    return new RegExp(source, 'u');
  } catch (err) {
    throw new UntranslatablePattern(
      pattern,
      `translation ${source} is not valid JavaScript: ${(err as Error).message}`,
    );
  }
}
