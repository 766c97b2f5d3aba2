/**
 * Finds the relative links of a Markdown page that lead nowhere: a path that is not a file or folder of the
 * repository, or a `#anchor` that is not a heading of the Markdown page it points at (GitHub's heading slugs).
 * Links inside code (fenced blocks and `code spans`) are text, not links, and are not checked.
 */
import fs from 'node:fs';
import path from 'node:path';

/** A link that does not resolve, with the page it is on and why. */
export interface BrokenLink {
  page: string;
  target: string;
  problem: string;
}

/** The page without its fenced code blocks (their lines kept empty, so line numbers would still match). */
function withoutFences(markdown: string): string {
  let fence: string | null = null;
  return markdown
    .split('\n')
    .map((line) => {
      const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === null && opener) {
        fence = opener[0] as string;
        return '';
      }
      if (fence !== null) {
        if (opener && opener[0] === fence) fence = null;
        return '';
      }
      return line;
    })
    .join('\n');
}

/** Every link target of a page: inline links `[text](target "title")`, images, and reference definitions. */
export function linkTargets(markdown: string): string[] {
  const text = withoutFences(markdown).replace(/(`+)[\s\S]*?\1/g, '');
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string);
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1] as string);
  return [...inline, ...references];
}

/** GitHub's anchor for each heading of a page: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(markdown).split('\n')) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/**
 * The broken relative links of the page at `page` (a path relative to `root`). `pending` lists repository paths that
 * may be linked before they exist (pages another change adds).
 */
export function brokenLinks(root: string, page: string, pending: ReadonlySet<string> = new Set()): BrokenLink[] {
  const markdown = fs.readFileSync(path.join(root, page), 'utf8');
  const broken: BrokenLink[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...: not a file of ours
    const hash = target.indexOf('#');
    const filePart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
    const resolved = filePart === '' ? page : path.normalize(path.join(path.dirname(page), filePart));
    const repoPath = resolved.replace(/\/+$/, '');
    if (repoPath.startsWith('..') || path.isAbsolute(repoPath)) {
      broken.push({ page, target, problem: 'points outside the repository' });
      continue;
    }
    const full = path.join(root, repoPath);
    if (!fs.existsSync(full)) {
      if (!pending.has(repoPath)) broken.push({ page, target, problem: `no file ${repoPath}` });
      continue;
    }
    if (anchor !== null && anchor !== '' && repoPath.endsWith('.md') && fs.statSync(full).isFile()) {
      if (!headingAnchors(fs.readFileSync(full, 'utf8')).has(anchor))
        broken.push({ page, target, problem: `no heading #${anchor} in ${repoPath}` });
    }
  }
  return broken;
}
