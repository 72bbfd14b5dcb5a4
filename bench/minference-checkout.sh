#!/usr/bin/env bash
# Materializes the few files of microsoft/MInference that `npm run bench:gpu` needs for its
# same-call comparison (bench/gpu_minference.py) into a git-ignored folder, to be carried to the
# GPU machine and named there by MINFERENCE_DIR. MInference's code is never committed here.
#
#   bash bench/minference-checkout.sh [SOURCE] [DEST]
#
# SOURCE: a git directory (bare mirror) or a clone of microsoft/MInference; default
#   $MINFERENCE_MIRROR, else /work/.mirror/microsoft+MInference. DEST: default .dev/minference
#   (.dev/ is git-ignored). REV (default HEAD) picks the commit.
# Written: minference/ops/pit_sparse_flash_attention_v2.py (the Triton Vertical-Slash kernel),
#   csrc/vertical_slash_index.cu (its index conversion, for reference: the bench builds the same
#   index itself instead of compiling this), LICENSE, and COMMIT (the commit's hash and subject).
set -euo pipefail
cd "$(dirname "$0")/.."
source=${1:-${MINFERENCE_MIRROR:-/work/.mirror/microsoft+MInference}}
dest=${2:-.dev/minference}
rev=${REV:-HEAD}
files=(minference/ops/pit_sparse_flash_attention_v2.py csrc/vertical_slash_index.cu LICENSE)

git_dir=
for candidate in "$source/repo" "$source/.git" "$source"; do
  if [ -d "$candidate" ] && git --git-dir="$candidate" rev-parse --verify --quiet "$rev^{commit}" > /dev/null; then
    git_dir=$candidate
    break
  fi
done
if [ -z "$git_dir" ]; then
  echo "minference-checkout: no git repository of MInference at $source (give its path as the first argument)" >&2
  exit 1
fi

rm -rf "$dest"
mkdir -p "$dest"
git --git-dir="$git_dir" archive "$rev" -- "${files[@]}" | tar -x -C "$dest"
git --git-dir="$git_dir" log -1 --format='%H %s' "$rev" > "$dest/COMMIT"
for file in "${files[@]}"; do
  [ -f "$dest/$file" ] || { echo "minference-checkout: $file is missing at $rev" >&2; exit 1; }
done
echo "minference-checkout: $(cut -c1-12 "$dest/COMMIT") -> $dest ($(du -sh "$dest" | cut -f1)); run with MINFERENCE_DIR=$dest"
