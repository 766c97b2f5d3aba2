/**
 * Reading InvokeEndpointWithResponseStream bodies. SageMaker cuts the container's bytes into PayloadParts wherever it
 * likes, so a multi-byte UTF-8 character (and a JSON line) can straddle two parts: bytes are decoded with one
 * streaming TextDecoder across the whole body, never part by part.
 */

/** One event of the SDK's ResponseStream, as far as these helpers read it. */
export interface PayloadEvent {
  PayloadPart?: { Bytes?: Uint8Array };
}

/** The body's text as it arrives: each chunk holds only whole characters (a split one waits for its next part). */
export async function* streamText(body: AsyncIterable<PayloadEvent> | undefined): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const event of body ?? []) {
    const text = decoder.decode(event.PayloadPart?.Bytes ?? new Uint8Array(), { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/**
 * The body's lines (JSON Lines answers: one token per line), each yielded once its newline has arrived; blank lines
 * are skipped and a last line without a newline is yielded at the end.
 */
export async function* streamLines(body: AsyncIterable<PayloadEvent> | undefined): AsyncGenerator<string> {
  let pending = '';
  for await (const text of streamText(body)) {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line) yield line;
  }
  if (pending) yield pending;
}
