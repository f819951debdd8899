#!/usr/bin/env bash
# By hand, not part of .ci/run (it downloads about 1 GB and compiles llama.cpp): run the README's
# "install and open the app" command on a fresh, minimal Debian 12, and take a screenshot of the
# window. Needs root, debootstrap, Xvfb and ImageMagick's `import` on this machine.
#
#   .ci/fresh-debian.sh [ROOTFS]     (default: build/fresh-debian12, made with debootstrap --variant=minbase)
#
# Steps: debootstrap a minimal root filesystem (what Debian's container images hold), clone this
# repository into it, run the README's command inside a chroot up to the app's start, run the
# system package check there (before anything else is installed), then start the app on an Xvfb
# display of this machine (its socket is shared with the chroot, so nothing X-related is installed
# in the chroot beyond what the README installs) and save docs/fresh-debian.png.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
rootfs=$(realpath -m "${1:-build/fresh-debian12}")
display_number=77
shot=$checkout/docs/fresh-debian.png

if [ ! -x "$rootfs/bin/bash" ]; then
  echo "fresh-debian: debootstrap bookworm into $rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian
fi

cleanup() {
  [ -n "${app_pid:-}" ] && kill -- "-$app_pid" 2>/dev/null || true
  [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null || true
  for mount in tmp/.X11-unix sys dev proc; do umount -l "$rootfs/$mount" 2>/dev/null || true; done
}
trap cleanup EXIT
mount -t proc proc "$rootfs/proc"
mount --rbind /dev "$rootfs/dev"
mount -t sysfs sys "$rootfs/sys"
mkdir -p "$rootfs/tmp/.X11-unix"
mount --bind /tmp/.X11-unix "$rootfs/tmp/.X11-unix"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
# A TLS-inspecting proxy's certificate authority, when this machine trusts one, so that pip can
# reach the package index from the chroot as it does from here.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
fi

rm -rf "$rootfs/root/dscoder"
git clone -q "$checkout" "$rootfs/root/dscoder"
run_command=$(grep -E '^apt-get update.*\.venv/bin/dscoder$' README.md)
install_part=${run_command% && .venv/bin/dscoder}
in_chroot() {
  env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    "$@"
}

echo "fresh-debian: the README's command, up to starting the app"
started=$SECONDS
# ca-certificates comes with python3-venv; refresh it for the proxy's authority first when needed.
apt_part=${install_part%% && python3 -m venv*}
python_part="python3 -m venv${install_part#* && python3 -m venv}"
in_chroot chroot "$rootfs" bash -c "cd /root/dscoder && $apt_part \
  && { [ ! -d /usr/local/share/ca-certificates ] || update-ca-certificates >/dev/null; } && $python_part"
echo "fresh-debian: installed in $((SECONDS - started)) s"

echo "fresh-debian: the system package check, on this fresh system"
in_chroot chroot "$rootfs" python3 /root/dscoder/.ci/check_system_packages.py

echo "fresh-debian: .venv/bin/dscoder on an Xvfb display, and a screenshot"
Xvfb ":$display_number" -screen 0 1400x900x24 -nolisten tcp &
xvfb_pid=$!
sleep 2
setsid env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DISPLAY=":$display_number" \
  chroot "$rootfs" bash -c "cd /root/dscoder && .venv/bin/dscoder" &
app_pid=$!
sleep 25
if ! kill -0 "$app_pid" 2>/dev/null; then
  echo "fresh-debian: the app exited before the screenshot" >&2
  exit 1
fi
DISPLAY=":$display_number" import -window root "$shot"
echo "fresh-debian: the window is up; screenshot in $shot"
