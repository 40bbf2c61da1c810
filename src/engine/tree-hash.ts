import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Fs, SmallFs } from '../platform/index.js';
import type { Git } from './git.js';

/** One blob (or symlink, or gitlink) of a commit's tree, as `git ls-tree -r` lists it. */
export interface TreeEntry {
  readonly mode: string;
  readonly oid: string;
}

/** A commit's whole tree: every path (recursively) and its entry. */
export type TreeListing = ReadonlyMap<string, TreeEntry>;

/** One path a commit changed against its parent, from `git log --raw --no-abbrev` (the new side). */
export interface RawChange {
  /** `A`, `M`, `D`, `T`, `R<score>` or `C<score>`. */
  readonly status: string;
  readonly path: string;
  /** The source path of a rename or copy, else null. */
  readonly from: string | null;
  readonly mode: string;
  readonly oid: string;
}

/** The tree of `commit`, from `git ls-tree -r --full-tree`. */
export async function listTree(git: Git, worktree: string, commit: string): Promise<Map<string, TreeEntry>> {
  const listing = await git.ok(['ls-tree', '-r', '-z', '--full-tree', commit], worktree);
  const out = new Map<string, TreeEntry>();
  for (const line of listing.split('\0')) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    const [mode = '', , oid = ''] = line.slice(0, tab).split(' ');
    out.set(line.slice(tab + 1), { mode, oid });
  }
  return out;
}

/** A commit's tree from its parent's tree and the commit's raw changes: what `listTree` of the commit says. */
export function applyChanges(parent: TreeListing, changes: readonly RawChange[]): Map<string, TreeEntry> {
  const out = new Map(parent);
  for (const c of changes) {
    if (c.status.startsWith('R') && c.from !== null) out.delete(c.from);
    if (c.status === 'D') out.delete(c.path);
    else out.set(c.path, { mode: c.mode, oid: c.oid });
  }
  return out;
}

/**
 * tree_hash_ref: SHA-256 over the sorted list of (path, mode, SHA-256 of content) of a committed tree, read from the
 * worktree that has that commit checked out (clean after the commit). `contentHashes` (git object id and mode ->
 * SHA-256 of the content) carries the hashes of the files a run has already read, so a node hashes only the files
 * that are new to the run instead of the whole tree again; the result is the same with or without it.
 */
export async function hashListing(
  fs: Fs,
  worktree: string,
  listing: TreeListing,
  contentHashes: Map<string, string>,
  small?: SmallFs,
): Promise<string> {
  const paths = [...listing.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const outer = createHash('sha256');
  for (const path of paths) {
    const e = listing.get(path) as TreeEntry;
    const key = `${e.mode} ${e.oid}`;
    let inner = contentHashes.get(key);
    if (inner === undefined) {
      inner =
        e.mode === '120000'
          ? createHash('sha256')
              .update(Buffer.from(await fs.readlink(join(worktree, path))))
              .digest('hex')
          : await fileSha256(fs, join(worktree, path), small);
      contentHashes.set(key, inner);
    }
    outer.update(`${path}\0${e.mode}\0${inner}\n`);
  }
  return outer.digest('hex');
}

/** tree_hash_ref of `commit` (see {@link hashListing}), its tree listed by git. */
export async function treeHash(
  git: Git,
  fs: Fs,
  worktree: string,
  commit: string,
  contentHashes: Map<string, string> = new Map(),
): Promise<string> {
  return hashListing(fs, worktree, await listTree(git, worktree, commit), contentHashes);
}

/** A run's tree hashes: it remembers the trees of its latest commits, so a node's tree is its parent's plus its changes. */
export interface TreeHasher {
  /**
   * tree_hash_ref of `commit`, checked out in `worktree`. With `made` (the commit's parent and raw changes), a parent
   * tree this hasher remembers spares listing the whole tree with git; the hash is the same either way.
   */
  hash(
    worktree: string,
    commit: string,
    made?: { readonly parent: string; readonly changes: readonly RawChange[] | null },
  ): Promise<string>;
}

/** Trees remembered at most: the latest commits of a run (a chain's last node, a fan-out's common parent). */
const REMEMBERED_TREES = 64;
/** Entries remembered at most over all trees, so a huge repository does not fill memory with listings. */
const REMEMBERED_ENTRIES = 1_000_000;

/** A {@link TreeHasher} over `contentHashes` (the run's map of content hashes by object id). */
export function createTreeHasher(git: Git, fs: Fs, contentHashes: Map<string, string>, small?: SmallFs): TreeHasher {
  // Least recently used first (a Map keeps insertion order; a hit moves its tree to the end).
  const trees = new Map<string, TreeListing>();
  let entries = 0;
  const remember = (commit: string, listing: TreeListing): void => {
    if (listing.size > REMEMBERED_ENTRIES || trees.has(commit)) return;
    trees.set(commit, listing);
    entries += listing.size;
    for (const [old, l] of trees) {
      if (trees.size <= REMEMBERED_TREES && entries <= REMEMBERED_ENTRIES) break;
      trees.delete(old);
      entries -= l.size;
    }
  };
  const recall = (commit: string): TreeListing | undefined => {
    const l = trees.get(commit);
    if (l) {
      trees.delete(commit);
      trees.set(commit, l);
    }
    return l;
  };
  return {
    async hash(worktree, commit, made) {
      const parent = made ? recall(made.parent) : undefined;
      const listing =
        recall(commit) ??
        (parent && made?.changes ? applyChanges(parent, made.changes) : await listTree(git, worktree, commit));
      remember(commit, listing);
      return hashListing(fs, worktree, listing, contentHashes, small);
    },
  };
}

const HASH_CHUNK = 1024 * 1024;
/** The largest file read whole on the calling thread: as for the platform's other small files (see SmallFs). */
const SMALL_FILE = 64 * 1024;

/**
 * SHA-256 of a file read in 1 MB chunks, so a file of any size is hashed in constant memory. With `small` (the
 * platform's calls on the calling thread), a file of up to 64 KiB is read whole there: most of a node's files are a
 * few bytes, and the chunked read is four thread-pool round trips (open, read, read, close) and a 1 MB buffer each.
 */
export async function fileSha256(
  fs: Pick<Fs, 'open'>,
  path: string,
  small?: Pick<SmallFs, 'stat' | 'readFile'>,
): Promise<string> {
  const hash = createHash('sha256');
  if (small && (await small.stat(path)).size <= SMALL_FILE)
    return hash.update(await small.readFile(path)).digest('hex');
  const fh = await fs.open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}
