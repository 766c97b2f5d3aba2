/** Tags by resource ARN: AddTags, DeleteTags, ListTags, and the tags given at creation. */
import type { Ctx } from '../core/context';
import { paginate } from '../core/protocol';
import { arr, type Body, str, type Tag, tags as readTags } from '../core/request-fields';

export class Tags {
  constructor(private readonly ctx: Ctx) {}

  private get coll() {
    return this.ctx.store.kind<{ Tags: Tag[] }>('tags');
  }

  get(arn: string): Tag[] {
    return this.coll.get(arn)?.Tags ?? [];
  }

  add(arn: string, tags: Tag[]): Tag[] {
    const merged = new Map(this.get(arn).map((t) => [t.Key, t.Value]));
    for (const t of tags) merged.set(t.Key, t.Value);
    const list = [...merged].map(([Key, Value]) => ({ Key, Value }));
    this.coll.put(arn, { Tags: list });
    return list;
  }

  remove(arn: string, keys?: string[]): void {
    if (!keys) this.coll.delete(arn);
    else this.coll.put(arn, { Tags: this.get(arn).filter((t) => !keys.includes(t.Key)) });
  }

  handlers(): Record<string, (body: Body) => unknown> {
    return {
      AddTags: (b) => {
        const arn = str(b, 'ResourceArn', { max: 256 });
        return { Tags: this.add(arn, readTags(b, 'Tags')) };
      },
      DeleteTags: (b) => {
        const arn = str(b, 'ResourceArn', { max: 256 });
        const keys = arr(b, 'TagKeys', { min: 1, max: 50 }).map((k, i) => {
          if (typeof k !== 'string') throw new Error(`TagKeys.${i + 1} must be a string`);
          return k;
        });
        this.remove(arn, keys);
        return {};
      },
      ListTags: (b) => {
        const arn = str(b, 'ResourceArn', { max: 256 });
        const { page, NextToken } = paginate(this.get(arn), b, 50, 100);
        return { Tags: page, NextToken };
      },
    };
  }
}
