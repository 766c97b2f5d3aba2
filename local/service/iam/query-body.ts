/**
 * AWS query-protocol parameters (`Action=DescribeAlarms&AlarmNames.member.1=a&Tags.member.1.Key=k`) as the JSON
 * body the same operation has in the JSON protocols (`{AlarmNames: ['a'], Tags: [{Key: 'k'}]}`), so one mapper
 * serves both (query lists are `.member.N`, maps `.entry.N.key`/`.entry.N.value`).
 */
import type { RequestBody } from './request-checks';

type Node = Record<string, unknown> | unknown[];

function set(target: Node, segments: string[], value: string): void {
  let cur: Node = target;
  for (let i = 0; i < segments.length; i++) {
    let seg = segments[i] as string;
    const last = i === segments.length - 1;
    // `.member.N` and `.entry.N`: the next segment is a 1-based index into a list.
    if ((seg === 'member' || seg === 'entry') && /^\d+$/.test(segments[i + 1] ?? '')) continue;
    const isIndex = /^\d+$/.test(seg) && (segments[i - 1] === 'member' || segments[i - 1] === 'entry');
    if (isIndex) seg = String(Number(seg) - 1);
    const nextIsList = segments[i + 1] === 'member' || segments[i + 1] === 'entry';
    const container = cur as Record<string, unknown>;
    if (last) {
      container[seg] = value;
      return;
    }
    if (container[seg] === undefined) container[seg] = nextIsList ? [] : {};
    cur = container[seg] as Node;
  }
}

/** Form parameters as a nested body; `Action` and `Version` are left out. */
export function queryToBody(params: URLSearchParams): RequestBody {
  const body: RequestBody = {};
  for (const [k, v] of params) {
    if (k === 'Action' || k === 'Version') continue;
    set(body, k.split('.'), v);
  }
  return body;
}
