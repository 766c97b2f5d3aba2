import type { Ctx } from './context';
import type { Tags } from './tags';
import type { Training } from './training';
import type { Body } from './validate';

export class Tuning {
  constructor(
    private readonly ctx: Ctx,
    private readonly tags: Tags,
    private readonly training: Training,
  ) {}
  handlers(): Record<string, (b: Body) => unknown> {
    return {};
  }
  resume(): void {}
  shutdown(): void {}
}
