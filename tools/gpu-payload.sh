#!/usr/bin/env bash
# What a GPU machine without Node needs beside the working tree, from this checkout in one piece:
# Node itself, the CUDA-built addon, dist/ (the command line) and the packages the command line
# loads at run time, packed into .dev/gpu-payload.tar.xz (.dev/ is git-ignored). The addon and
# dist/ come from the same tree, so the GPU run tests and times the code that is checked out here.
# On the GPU machine, from the repository root:
#   tar -xJf .dev/gpu-payload.tar.xz && export PATH="$PWD/.dev/bin:$PATH"
#   MINFERENCE_DIR=.dev/minference OUT_DIR=$OUT bash bench/gpu_all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --directory native --out native/build > /dev/null
compiled=$(node -e "console.log(require('./native/build/Release/sparsescope.node').deviceInfo().cuda.compiled)")
if [ "$compiled" != true ]; then
  echo "gpu-payload: the addon was built without CUDA (is nvcc on PATH?)" >&2
  exit 1
fi
mkdir -p .dev/bin
npm run build > .dev/gpu-payload-build.log 2>&1 || { cat .dev/gpu-payload-build.log >&2; exit 1; }
cp "$(command -v node)" .dev/bin/node
tar -cf - .dev/bin/node dist native/build/Release/sparsescope.node node_modules/ws node_modules/zod | xz -T0 -6 > .dev/gpu-payload.tar.xz
echo "wrote .dev/gpu-payload.tar.xz ($(du -h .dev/gpu-payload.tar.xz | cut -f1)) at $(git rev-parse --short HEAD)$(git diff --quiet || echo ', with uncommitted changes')"
