import type { Ctx } from './context';
import type { Tags } from './tags';
import type { Body } from './validate';

export class Registry {
  constructor(
    private readonly ctx: Ctx,
    private readonly tags: Tags,
  ) {}
  handlers(): Record<string, (b: Body) => unknown> {
    return {};
  }
}
