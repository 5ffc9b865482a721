#!/bin/sh
# install-deps.sh — install what pipelined's tests, demo and benchmarks run, from Debian's
# packages, when it is missing. Safe to run again: it only installs what is not there.
#
#   scripts/install-deps.sh          install what is missing (root, or sudo without a password)
#   scripts/install-deps.sh --check  only list what is missing; exit 1 if anything is
#
# Needed at run time by pipelined itself: git, docker (the engine is not installed here: it
# is the operator's), rsync. Needed by the tests: python3 (configparser oracle), busybox-static
# (the base image the tests build on, as there is no registry), webhook (the webhook receiver
# test), systemd (systemd-analyze verify of the unit), chromium (the status page, opened in
# a headless browser), nginx (the status page served over HTTP, as an operator would),
# exim4-daemon-light (a real mail transfer agent for the mail notification callback), curl
# (the chat notification callback posts with it), man-db (the man pages, rendered with
# man -l), gcc (cgo, for the sqlite of the Gitea that scripts/gitea.sh builds for the forge
# tests). The benchmarks add openssh-server.
set -eu

# command  package
want='git git
rsync rsync
busybox busybox-static
python3 python3
webhook webhook
systemd-analyze systemd
sshd openssh-server
ssh openssh-client
chromium chromium
nginx nginx-light
exim4 exim4-daemon-light
curl curl
man man-db
gcc gcc'

missing=''
while read -r cmd pkg; do
	if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ] && ! [ -x "/bin/$cmd" ]; then
		missing="$missing $pkg"
	fi
done <<EOT
$want
EOT

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "missing Debian packages:$missing" >&2
	exit 1
fi

echo "installing Debian packages:$missing" >&2
sudo=''
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo='sudo -n'
	else
		echo "not root and no sudo: install these packages yourself:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # the package list is meant to split
$sudo apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
