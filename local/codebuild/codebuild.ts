import type { Ctx } from '../sagemaker/context';
import type { Body } from '../sagemaker/validate';

export class CodeBuild {
  constructor(private readonly ctx: Ctx) {}
  handlers(): Record<string, (b: Body) => unknown> {
    return {};
  }
  resume(): void {}
  async shutdown(): Promise<void> {}
}
