/**
 * CloudWatch Logs: the last lines of a SageMaker job's per-host streams and of a CodeBuild build's stream. Failure
 * diagnostics are best effort: logs may not exist yet (a job that failed before starting), so "not found" is empty.
 */
import {
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
  type LogStream,
  type OutputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import type { LogTailInput, LogTailOutput } from '../contracts/train-model';
import { aws, awsErrorName } from './aws-errors';
import type { ActivityDeps } from './deps';

/** SageMaker writes one stream per host; a tuning trial or a 4-host job has few, but a bound keeps calls cheap. */
const MAX_STREAMS = 32;

interface TimedLine {
  timestamp: number;
  line: string;
}

/** True for the error CloudWatch Logs returns when the group or stream does not exist (yet). */
function isNotFound(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  return awsErrorName(err) === 'ResourceNotFoundException' || awsErrorName(cause) === 'ResourceNotFoundException';
}

/** Runs a log read, turning "not found" into `fallback`. */
async function orIfMissing<T>(read: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return fallback;
    throw err;
  }
}

/** The last `limit` events of one stream, oldest first. */
async function streamEvents(
  deps: ActivityDeps,
  group: string,
  stream: string,
  limit: number,
): Promise<OutputLogEvent[]> {
  const out = await aws(`GetLogEvents ${group}/${stream}`, () =>
    deps.clients.logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: false, limit }),
    ),
  );
  return out.events ?? [];
}

/** Log messages end with a newline; the tail is shown line by line. */
function clean(message: string | undefined): string {
  return (message ?? '').replace(/\r?\n$/, '');
}

/** The last `limit` lines of one stream (a CodeBuild build's log); empty when the stream does not exist. */
export async function readStreamTail(
  deps: ActivityDeps,
  group: string,
  stream: string,
  limit: number,
): Promise<string[]> {
  const events = await orIfMissing(() => streamEvents(deps, group, stream, limit), []);
  return events.map((e) => clean(e.message));
}

/** Every stream whose name starts with `prefix`, following pagination up to MAX_STREAMS. */
async function listStreams(deps: ActivityDeps, group: string, prefix: string): Promise<LogStream[]> {
  const streams: LogStream[] = [];
  let nextToken: string | undefined;
  do {
    const page = await aws(`DescribeLogStreams ${group}/${prefix}`, () =>
      deps.clients.logs.send(
        new DescribeLogStreamsCommand({ logGroupName: group, logStreamNamePrefix: prefix, nextToken }),
      ),
    );
    streams.push(...(page.logStreams ?? []));
    nextToken = page.nextToken;
  } while (nextToken && streams.length < MAX_STREAMS);
  return streams.slice(0, MAX_STREAMS);
}

/** Builds the CloudWatch Logs activities. */
export function createLogsActivities(deps: ActivityDeps) {
  return {
    /**
     * The last `lines` lines across a job's host streams (`<jobName>/algo-1-<epoch>`, ...), oldest first, each
     * prefixed with its host (`[algo-1-1700000000] ...`); empty when the group or streams do not exist yet.
     */
    async readJobLogTail(input: LogTailInput): Promise<LogTailOutput> {
      const streams = await orIfMissing(() => listStreams(deps, input.logGroup, input.streamPrefix), []);
      const perStream = await Promise.all(
        streams.map(async (s): Promise<TimedLine[]> => {
          const name = s.logStreamName ?? '';
          const host = name.startsWith(input.streamPrefix) ? name.slice(input.streamPrefix.length) : name;
          const events = await orIfMissing(() => streamEvents(deps, input.logGroup, name, input.lines), []);
          return events.map((e) => ({ timestamp: e.timestamp ?? 0, line: `[${host}] ${clean(e.message)}` }));
        }),
      );
      // A stable sort keeps each host's own order for equal timestamps; hosts interleave by time.
      const merged = perStream.flat().sort((a, b) => a.timestamp - b.timestamp);
      return { lines: merged.slice(-input.lines).map((l) => l.line) };
    },
  };
}
