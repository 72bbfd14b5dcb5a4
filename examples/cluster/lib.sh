# Shared by search-ssh.sh and search-array.sbatch (source it). Needs `sparsescope` (or $SPARSESCOPE)
# and node, which sparsescope runs on.

SPARSESCOPE=${SPARSESCOPE:-sparsescope}

# shard_layers CAPTURE K N: the K-th of N contiguous runs of the capture's layers, as "a,b,c"
# (empty when there are fewer layers than shards).
shard_layers() {
  $SPARSESCOPE info --json "$1" | node -e '
    const layers = JSON.parse(require("fs").readFileSync(0, "utf8")).layers;
    const [k, n] = process.argv.slice(1).map(Number);
    const size = Math.ceil(layers.length / n);
    console.log(layers.slice(k * size, (k + 1) * size).join(","));
  ' "$2" "$3"
}

# search_shard CAPTURE K N OUT_DIR [SEARCH ARGS...]: searches shard K of N into OUT_DIR/part-K.json
# (Sparsescope format: it records the layers searched, which `config merge` reads), its report in
# OUT_DIR/part-K.log.
search_shard() {
  local capture=$1 k=$2 n=$3 out_dir=$4
  shift 4
  local layers
  layers=$(shard_layers "$capture" "$k" "$n")
  [ -n "$layers" ] || return 0
  $SPARSESCOPE search "$capture" --layers "$layers" --format sparsescope --out "$out_dir/part-$k.json" "$@" > "$out_dir/part-$k.log"
}
