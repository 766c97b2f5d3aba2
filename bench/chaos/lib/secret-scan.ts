/**
 * Scans text and files for secrets: AWS access key IDs (AKIA/ASIA), 40-character secret-key shapes next to a
 * secret's name, and exact known values (credentials, the payload codec key raw, base64, base64url and hex).
 * Used by the secrets jest test and by `npm run chaos -- secrets`.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One thing found: where, what rule matched, and a redacted excerpt (a report must not re-leak the secret). */
export interface Finding {
  where: string;
  rule: string;
  excerpt: string;
}

/** A value that must never appear, with the name reports use for it. */
export interface KnownSecret {
  name: string;
  value: string | Buffer;
}

const ACCESS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;
const SECRET_NEXT_TO_NAME =
  /(?:aws_?secret_?access_?key|secret_?access_?key|secretkey|aws_?secret|SECRET_KEY)["'\s]*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi;

/** The forms a known secret can take in text: itself, and for a binary key its base64, base64url and hex. */
export function secretForms(s: KnownSecret): { form: string; text: string }[] {
  if (typeof s.value === 'string') return s.value.length >= 8 ? [{ form: 'value', text: s.value }] : [];
  return [
    { form: 'base64', text: s.value.toString('base64') },
    { form: 'base64url', text: s.value.toString('base64url') },
    { form: 'hex', text: s.value.toString('hex') },
  ];
}

/**
 * The match replaced by its length, with 30 characters of context whose long tokens are masked (they may be secrets
 * too).
 */
function redact(text: string, index: number, length: number): string {
  const mask = (t: string): string => t.replace(/[A-Za-z0-9/+=_-]{12,}/g, '<…>');
  const shown =
    `${mask(text.slice(Math.max(0, index - 30), index))}<${length} ` +
    `chars>${mask(text.slice(index + length, index + length + 30))}`;
  return shown.replace(/\s+/g, ' ');
}

/** Every finding in one text (a file's content, a log). `allow` lists exact matches that are not secrets. */
export function scanText(where: string, text: string, known: KnownSecret[] = [], allow: string[] = []): Finding[] {
  const found: Finding[] = [];
  for (const m of text.matchAll(ACCESS_KEY_ID))
    if (!allow.includes(m[0]))
      found.push({ where, rule: 'AWS access key ID (AKIA/ASIA…)', excerpt: redact(text, m.index ?? 0, m[0].length) });
  for (const m of text.matchAll(SECRET_NEXT_TO_NAME))
    if (!allow.includes(m[1] as string))
      found.push({
        where,
        rule: '40-character secret next to a secret key name',
        excerpt: redact(text, m.index ?? 0, m[0].length),
      });
  for (const s of known) {
    for (const { form, text: needle } of secretForms(s)) {
      const i = text.indexOf(needle);
      if (i >= 0) found.push({ where, rule: `${s.name} (${form})`, excerpt: redact(text, i, needle.length) });
    }
  }
  return found;
}

/** Scans one file: as UTF-8 text, and for binary known secrets their raw bytes too. */
export function scanFile(file: string, known: KnownSecret[] = [], allow: string[] = []): Finding[] {
  const buf = fs.readFileSync(file);
  const found = scanText(file, buf.toString('utf8'), known, allow);
  for (const s of known)
    if (Buffer.isBuffer(s.value) && buf.includes(s.value))
      found.push({ where: file, rule: `${s.name} (raw bytes)`, excerpt: '(binary)' });
  return found;
}

/** Every regular file under `dir` (recursively), skipping node_modules, .git and virtual environments. */
export function filesUnder(dir: string, maxBytes = 64 * 1024 * 1024): string[] {
  if (!fs.existsSync(dir)) return [];
  if (fs.statSync(dir).isFile()) return [dir];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!['node_modules', '.git', '.venv'].includes(e.name)) out.push(...filesUnder(p, maxBytes));
    } else if (e.isFile() && fs.statSync(p).size <= maxBytes) out.push(p);
  }
  return out;
}
