type AsyncMethod = (...args: never[]) => Promise<unknown>;

/** What lazy loading accepts: an object whose members are async methods, or objects of async methods. */
export type AsyncOps<T> = {
  readonly [K in keyof T]: T[K] extends AsyncMethod ? T[K] : T[K] extends Record<string, AsyncMethod> ? T[K] : never;
};

type Loose = Record<string, unknown>;

function forward(load: () => Promise<Loose>, nested: readonly string[], path: string): Loose {
  const members = new Map<string, unknown>();
  return new Proxy({} as Loose, {
    get(_target, key) {
      // Not a thenable, no symbols: only string keys name operations.
      if (typeof key !== 'string' || key === 'then') return undefined;
      let member = members.get(key);
      if (member === undefined) {
        member = nested.includes(key)
          ? forward(async () => (await load())[key] as Loose, [], `${path}${key}.`)
          : async (...args: unknown[]) => {
              const ops = await load();
              const f = ops[key];
              if (typeof f !== 'function') throw new TypeError(`no operation ${path}${key}`);
              return (f as (...a: unknown[]) => unknown).apply(ops, args);
            };
        members.set(key, member);
      }
      return member;
    },
  });
}

/**
 * An ops object whose module is imported on the first call of one of its methods, so building the app loads no
 * domain and each command loads only what it calls (`mso status` stays clear of the scheduler, the designer and the
 * agent adapters). Every member of T must be an async method, or (named in `nested`) an object of async methods.
 * @example const design = lazyOps<DesignOps>(async () => (await import('./design-ops.js')).createDesignOps(deps, cwd, open));
 */
export function lazyOps<T extends AsyncOps<T>>(load: () => Promise<T>, nested: readonly (keyof T & string)[] = []): T {
  let loaded: Promise<T> | undefined;
  return forward(() => (loaded ??= load()) as Promise<Loose>, nested, '') as T;
}
