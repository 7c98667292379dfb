#!/usr/bin/env bash
# Makes the debian:bookworm and debian:bookworm-slim base images from Debian's
# packages when no image registry can be reached: debootstrap a minimal
# bookworm, point its apt at the same Debian mirror as this host, and
# `docker import` it under both tags. Does nothing when both tags exist.
#   deploy/docker/base-images.sh [--force]
set -euo pipefail
force=0
[ "${1:-}" = "--force" ] && force=1

if [ "$force" = 0 ] && docker image inspect debian:bookworm debian:bookworm-slim >/dev/null 2>&1; then
  exit 0
fi

# The host's Debian sources file (deb822), else the classic sources.list.
sources=""
for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [ -s "$candidate" ] && grep -q 'debian' "$candidate"; then sources="$candidate"; break; fi
done
mirror="$(grep -hE '^(URIs:|deb )' ${sources:-/dev/null} 2>/dev/null \
  | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

rootfs="$(mktemp -d /tmp/kiln-bookworm.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "base-images: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -n 20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

if [ -n "$sources" ] && [ "${sources##*.}" = "sources" ]; then
  rm -f "$rootfs/etc/apt/sources.list"
  cp "$sources" "$rootfs/etc/apt/sources.list.d/debian.sources"
fi
# Like Debian's own images: no package lists or archives, no docs in layers.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* "$rootfs"/var/log/*.log
cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
CFG

tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm >/dev/null
docker tag debian:bookworm debian:bookworm-slim
echo "base-images: debian:bookworm and debian:bookworm-slim ($(docker image inspect -f '{{.Size}}' debian:bookworm | awk '{printf "%d MB", $1/1e6}'))"
