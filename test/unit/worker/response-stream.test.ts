/** Reading an InvokeEndpointWithResponseStream body whose PayloadParts cut a UTF-8 character in two. */
import { type PayloadEvent, streamLines, streamText } from '../../../worker/response-stream';

/** The bytes as SageMaker may send them: cut at the given byte offsets, one PayloadPart per piece. */
async function* parts(bytes: Uint8Array, cuts: number[]): AsyncGenerator<PayloadEvent> {
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    yield { PayloadPart: { Bytes: bytes.subarray(start, end) } };
    start = end;
  }
}

const collect = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

test('a character split across two parts is decoded whole, and every line is parsed', async () => {
  const answer = [
    { token: { text: 'caf\u00e9 ' } },
    { token: { text: '\u{1F600}' } },
    { generated_text: 'caf\u00e9 \u{1F600}' },
  ];
  const bytes = new TextEncoder().encode(answer.map((a) => JSON.stringify(a)).join('\n') + '\n');
  // Cut inside the two-byte "é" and inside the four-byte emoji (after its first and third byte).
  const e = bytes.indexOf(0xc3);
  const smile = bytes.indexOf(0xf0);
  const lines = await collect(streamLines(parts(bytes, [e + 1, smile + 1, smile + 3])));
  expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(answer);
  expect((await collect(streamText(parts(bytes, [e + 1])))).join('')).not.toContain('\ufffd');
});

test('a last line without its newline still comes out; blank lines do not', async () => {
  const bytes = new TextEncoder().encode('{"a":1}\n\n{"b":"\u00fc"}');
  expect(await collect(streamLines(parts(bytes, [3, bytes.length - 2])))).toEqual(['{"a":1}', '{"b":"\u00fc"}']);
});
