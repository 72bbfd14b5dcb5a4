#!/usr/bin/env bash
# Renders assets/icon.svg into the icons each installer needs; run it after editing the SVG and
# commit the outputs. Needs Debian's librsvg2-bin (rsvg-convert), icoutils (icotool) and
# icnsutils (png2icns).
set -euo pipefail
cd "$(dirname "$0")/../assets"
mkdir -p icons
for size in 16 24 32 48 64 128 256 512 1024; do
  rsvg-convert -w "$size" -h "$size" icon.svg -o "icons/${size}x${size}.png"
done
# Linux (AppImage, deb): the icons/ folder as it is. Windows: 16 to 256 px in one .ico, the 256 px
# image stored as PNG. macOS: 16 to 1024 px in one .icns.
icotool -c -o icon.ico icons/{16x16,24x24,32x32,48x48,64x64}.png --raw=icons/256x256.png
png2icns icon.icns icons/{16x16,32x32,128x128,256x256,512x512,1024x1024}.png
