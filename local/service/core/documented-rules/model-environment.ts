/**
 * CreateModel's container environment beyond the model's per-entry limits: all keys and values of a container's
 * Environment map together, and of all containers' maps together, are at most 32 KB.
 */
import { fail } from '../request-fields';
import type { Body } from '../request-fields';
import type { RuleCheck } from './rule';

/** Most bytes the keys and values of the Environment maps of one CreateModel request may add up to. */
export const MAX_ENVIRONMENT_BYTES = 32 * 1024;

function environmentBytes(container: unknown): number {
  const env = (container as Body | undefined)?.Environment;
  if (!env || typeof env !== 'object') return 0;
  return Object.entries(env as Record<string, unknown>).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : ''),
    0,
  );
}

/** All keys and values of the Environment maps of a CreateModel request, combined, are at most 32 KB. */
export const modelEnvironmentSize: RuleCheck = ({ body }) => {
  const containers = [body.PrimaryContainer, ...(Array.isArray(body.Containers) ? body.Containers : [])];
  const bytes = containers.reduce<number>((n, c) => n + environmentBytes(c), 0);
  if (bytes > MAX_ENVIRONMENT_BYTES)
    fail(
      body.PrimaryContainer ? 'primaryContainer.environment' : 'containers',
      `${bytes} bytes`,
      `The maximum length of all keys and values in the Environment maps, combined, is 32 KB (${MAX_ENVIRONMENT_BYTES} bytes)`,
    );
};
