#!/bin/sh
# base-image.sh NAME — make a tiny base image without a registry: Debian's static busybox
# and a link per applet, imported with docker import. The tests, the demo and the
# benchmarks build FROM it (with pull = False). Does nothing if NAME exists.
set -eu
name=${1:?usage: base-image.sh NAME}
if docker image inspect "$name" >/dev/null 2>&1; then
	exit 0
fi
busybox=$(command -v busybox) || { echo "base-image.sh: busybox is missing (scripts/install-deps.sh installs busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$name" >/dev/null
