/**
 * Persisted state of the local service: one JSON file per resource kind under the state directory, each
 * written atomically (temp file + rename) on every change, and read back when the service starts.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Told of every record written (put or update): the one place a local resource's state change is seen. */
export type ChangeListener = (kind: string, key: string, value: object) => void;

export class Collection<T extends object> {
  private readonly items = new Map<string, T>();
  private readonly file: string;

  constructor(
    dir: string,
    readonly kind: string,
    private readonly changed: ChangeListener = () => undefined,
  ) {
    this.file = path.join(dir, `${kind}.json`);
    if (fs.existsSync(this.file)) {
      const data = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, T>;
      for (const [k, v] of Object.entries(data)) this.items.set(k, v);
    }
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  values(): T[] {
    return [...this.items.values()];
  }

  put(key: string, value: T): T {
    this.items.set(key, value);
    this.save();
    this.changed(this.kind, key, value);
    return value;
  }

  /** Applies `change` to the stored record (if any) and persists it. */
  update(key: string, change: (value: T) => void): T | undefined {
    const value = this.items.get(key);
    if (!value) return undefined;
    change(value);
    this.save();
    this.changed(this.kind, key, value);
    return value;
  }

  delete(key: string): boolean {
    const had = this.items.delete(key);
    if (had) this.save();
    return had;
  }

  save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.items), null, 1));
    fs.renameSync(tmp, this.file);
  }
}

/** Opens (and creates) the collections in `dir`. */
export class Store {
  private readonly collections = new Map<string, Collection<object>>();
  /** Set by the service (core/state-events.ts publishes the resources' state-change events from it). */
  onChange: ChangeListener = () => undefined;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  kind<T extends object>(kind: string): Collection<T> {
    let c = this.collections.get(kind);
    if (!c) {
      c = new Collection<object>(this.dir, kind, (k, key, value) => this.onChange(k, key, value));
      this.collections.set(kind, c);
    }
    return c as Collection<T>;
  }
}
