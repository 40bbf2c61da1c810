#!/usr/bin/env bash
# The git floor for bench/e2e.ts: the git work of one node done by hand, per node: `git worktree add` of the parent's
# commit, the step (one file written), `git add -A`, `git commit`, and reading the new commit's id.
#   bench/git-floor.sh chain N       N nodes, each on its parent's commit, one after another
#   bench/git-floor.sh wide N J      one root, then N-1 nodes on the root's commit, J at a time
# Prints nothing; bench/e2e.ts times it.
set -euo pipefail
shape=$1 n=$2 jobs=${3:-1}
# FLOOR_DIR: an empty folder to work in, left for the caller to remove (bench/e2e.ts removes every run's files at its
# end, not between runs); without it, a temporary folder removed on exit.
if [ -n "${FLOOR_DIR:-}" ]; then
  dir=$FLOOR_DIR
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/mso-git-floor-XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
export GIT_AUTHOR_NAME=floor GIT_AUTHOR_EMAIL=floor@localhost GIT_COMMITTER_NAME=floor GIT_COMMITTER_EMAIL=floor@localhost
git init -q -b main "$dir/repo"
git -C "$dir/repo" commit -q --allow-empty -m base

node() { # node <id> <parent commit> -> prints the node's commit
  local wt="$dir/wt/$1"
  # git worktree add is not safe to run concurrently in one repository (mso serializes it too)
  flock "$dir/worktree.lock" git -C "$dir/repo" worktree add -q --detach "$wt" "$2"
  printf '%s\n' "$1" >"$wt/out-$1.txt"
  git -C "$wt" add -A
  git -C "$wt" commit -q -m "node $1"
  git -C "$wt" rev-parse HEAD
}
export -f node
export dir

base=$(git -C "$dir/repo" rev-parse HEAD)
if [ "$shape" = chain ]; then
  for i in $(seq 1 "$n"); do base=$(node "n$i" "$base"); done
else
  root=$(node root "$base")
  seq 1 $((n - 1)) | xargs -P "$jobs" -I{} bash -c 'node "w{}" "$0" >/dev/null' "$root"
fi
