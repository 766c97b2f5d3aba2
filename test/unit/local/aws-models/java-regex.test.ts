/** Java model patterns in JavaScript: the constructs JavaScript reads differently, and refusals where it cannot. */
import {
  compileJavaRegex,
  translateJavaRegex,
  UntranslatablePattern,
} from '../../../../local/service/core/aws-models/java-regex';

const matches = (pattern: string, value: string): boolean => compileJavaRegex(pattern).test(value);

test('whole-string matching, as Matcher.matches() applies model patterns', () => {
  expect(matches('[a-z]+', 'abc')).toBe(true);
  expect(matches('[a-z]+', 'abc1')).toBe(false);
  expect(matches('a|b', 'ab')).toBe(false);
});

test("Java's '.' also stops at U+0085 and its '$' tolerates no trailing text", () => {
  expect(matches('.*', 'a\u0085b')).toBe(false);
  expect(matches('.*', 'a\u00a0b')).toBe(true);
  // `$` may match before a final line break, but matches() must still consume it: no match.
  expect(matches('abc$', 'abc\n')).toBe(false);
  expect(matches('(abc$)|x', 'abc')).toBe(true);
});

test('quantified assertions, which Java accepts and JavaScript refuses', () => {
  // IAM/STS tag patterns in the models: `([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}`.
  const p = '([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,128}';
  expect(matches(p, 'team: ml/ops')).toBe(true);
  expect(matches(p, 'a!b')).toBe(false);
  expect(translateJavaRegex('a^?b')).toBe('^(?:ab)$');
});

test('ASCII-only \\s and \\S, POSIX classes, and \\S inside a class union', () => {
  expect(matches('\\s', '\u00a0')).toBe(false);
  expect(matches('\\S+', 'a\u00a0b')).toBe(true);
  expect(matches('[\\S\\s]+', 'any\nthing\u2028')).toBe(true);
  expect(matches('[^\\S]', ' ')).toBe(true);
  expect(matches('[^\\S]', 'x')).toBe(false);
  expect(matches('\\p{Print}+', 'A ~')).toBe(true);
  expect(matches('\\p{Print}+', 'é')).toBe(false);
  expect(matches('\\p{ASCII}*', '\u007f')).toBe(true);
  expect(matches('arn:[\\p{Alnum}\\-]+:lambda', 'arn:aws-cn:lambda')).toBe(true);
  expect(matches('\\A\\S[\\p{Print}]*\\z', 'a b')).toBe(true);
});

test('escaped surrogate pairs mean supplementary code points, as in Java', () => {
  const xml = '[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*';
  expect(matches(xml, 'emoji 😀 ok')).toBe(true);
  expect(matches(xml, 'bell \u0007')).toBe(false);
});

test('identity escapes of any punctuation, Java ranges with a trailing dash, \\Q…\\E', () => {
  expect(matches('[a-zA-Z0-9-_.]+', 'a-b_c.d')).toBe(true);
  expect(matches('[+-.]', ',')).toBe(true);
  expect(matches('\\@\\:\\_', '@:_')).toBe(true);
  expect(matches('\\Q[a]*\\E', '[a]*')).toBe(true);
});

test("Java's \\b knows letters of every script", () => {
  expect(matches('.*\\bé.*', 'x é')).toBe(true);
  expect(matches('.*\\bé.*', 'xé')).toBe(false);
});

test.each([
  ['a*+', 'possessive'],
  ['(?>a)', 'atomic group'],
  ['(?i)a', 'inline flags'],
  ['[a-z&&[^b]]', 'intersection'],
  ['[a[b]]', 'nested'],
  ['\\p{InGreek}', 'property'],
  ['a{', 'not a quantifier'],
])('refuses %s (%s) instead of approximating it', (pattern) => {
  expect(() => compileJavaRegex(pattern)).toThrow(UntranslatablePattern);
});
