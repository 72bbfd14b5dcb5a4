#!/usr/bin/env bash
# Search a whole model's capture in layer shards over SSH hosts with plain xargs, then merge the
# shards into one config with `sparsescope config merge`. No scheduler; each host needs only
# sparsescope (and node, which it runs on).
#
#   [SEARCH_ARGS="..."] examples/cluster/search-ssh.sh CAPTURE OUT.json HOST...
#
# CAPTURE, the shards' folder (WORK) and this checkout must be at the same paths on every host (a
# shared filesystem). Each HOST runs its shards one after another; name a host twice to run two
# of its shards at a time. HOST `local` runs here, without SSH. Put `--workers auto` in
# SEARCH_ARGS to shard each host's layers over all of its GPUs as well.
#
# Env: SEARCH_ARGS (added to every `sparsescope search`, e.g. "--target-recall 0.95 --workers
# auto"), SHARDS (shards in all; default: one per HOST), WORK (the shards' folder; default
# OUT.json.shards), SPARSESCOPE (the command; default sparsescope), FORMAT (of the merged config;
# default minference).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

# One xargs line, "INDEX HOST": that host searches shards INDEX, INDEX + hosts, ...
if [ "${1:-}" = --host ]; then
  index=$2 host=$3
  for ((k = index; k < SHARDS; k += HOSTS_COUNT)); do
    command="source $(printf %q "$here/lib.sh") && search_shard $(printf '%q ' "$CAPTURE" "$k" "$SHARDS" "$WORK") $SEARCH_ARGS"
    echo "search-ssh: shard $k of $SHARDS on $host" >&2
    if [ "$host" = local ]; then
      bash -c "$command"
    else
      ssh "$host" "cd $(printf %q "$PWD") && SPARSESCOPE=$(printf %q "$SPARSESCOPE") && $command"
    fi
  done
  exit 0
fi

[ $# -ge 3 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
CAPTURE=$(realpath "$1")
out=$2
shift 2
HOSTS_COUNT=$#
SHARDS=${SHARDS:-$#}
WORK=$(realpath -m "${WORK:-$out.shards}")
SEARCH_ARGS=${SEARCH_ARGS:-}
export CAPTURE HOSTS_COUNT SHARDS WORK SEARCH_ARGS SPARSESCOPE
mkdir -p "$WORK"
rm -f "$WORK"/part-*.json

index=0
for host in "$@"; do
  echo "$index $host"
  index=$((index + 1))
done | xargs -P "$HOSTS_COUNT" -L 1 "$0" --host
$SPARSESCOPE config merge "$WORK"/part-*.json --format "${FORMAT:-minference}" --out "$out"
