/** Tags by resource ARN: AddTags, DeleteTags, ListTags, and the tags given at creation. */
import type { Ctx } from '../core/context';
import { paginate } from '../core/protocol';
import { type Body, type Tag, tags as readTags } from '../core/request-fields';

export class Tags {
  constructor(private readonly ctx: Ctx) {}

  private get coll() {
    return this.ctx.store.kind<{ Tags: Tag[] }>('tags');
  }

  get(arn: string): Tag[] {
    return this.coll.get(arn)?.Tags ?? [];
  }

  add(arn: string, tags: Tag[]): Tag[] {
    const merged = new Map(this.get(arn).map((tag) => [tag.Key, tag.Value]));
    for (const t of tags) merged.set(t.Key, t.Value);
    const list = [...merged].map(([Key, Value]) => ({ Key, Value }));
    this.coll.put(arn, { Tags: list });
    return list;
  }

  remove(arn: string, keys?: string[]): void {
    if (!keys) this.coll.delete(arn);
    else this.coll.put(arn, { Tags: this.get(arn).filter((tag) => !keys.includes(tag.Key)) });
  }

  handlers(): Record<string, (body: Body) => unknown> {
    return {
      AddTags: (b) => ({ Tags: this.add(b.ResourceArn as string, readTags(b, 'Tags')) }),
      DeleteTags: (b) => {
        this.remove(b.ResourceArn as string, b.TagKeys as string[]);
        return {};
      },
      ListTags: (b) => {
        // The model sets MaxResults at 50 or more, with no upper bound.
        const { page, NextToken } = paginate(this.get(b.ResourceArn as string), b, 50, Number.POSITIVE_INFINITY);
        return { Tags: page, NextToken };
      },
    };
  }
}
