#!/usr/bin/env bash
# Register DeepSeek-Coder Desktop with the desktop for the current user: the .desktop entry,
# the icons and the AppStream metainfo, under ~/.local/share. No root needed.
#
# Usage: packaging/install-desktop.sh [EXECUTABLE]
#   EXECUTABLE: the dscoder to launch (default: dist/dscoder/dscoder if built, else `dscoder` on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
app_id=io.github.dscoder.DeepSeekCoderDesktop
exe=${1:-}
if [ -z "$exe" ]; then
  if [ -x "$here/dist/dscoder/dscoder" ]; then exe="$here/dist/dscoder/dscoder"; else exe=$(command -v dscoder || true); fi
fi
if [ -z "$exe" ] || [ ! -x "$exe" ]; then
  echo "install-desktop: no dscoder executable found; build the bundle (packaging/build.sh) or pass its path" >&2
  exit 1
fi
exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/metainfo"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
  cp "$here/resources/icons/dscoder-$size.png" "$data/icons/hicolor/${size}x${size}/apps/$app_id.png"
done
mkdir -p "$data/icons/hicolor/scalable/apps"
cp "$here/resources/icons/dscoder.svg" "$data/icons/hicolor/scalable/apps/$app_id.svg"
# Point Exec and TryExec at the executable's absolute path (quoted for spaces).
sed -e "s|^Exec=dscoder|Exec=\"$exe\"|" -e "s|^TryExec=dscoder|TryExec=$exe|" \
  "$here/resources/$app_id.desktop" > "$data/applications/$app_id.desktop"
cp "$here/resources/$app_id.metainfo.xml" "$data/metainfo/"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "installed $data/applications/$app_id.desktop (runs $exe)"
