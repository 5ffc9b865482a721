#!/bin/sh
# gitea.sh — build the Gitea server the forge tests run against, once, into a cache that later
# runs find. Gitea is a test tool: it is never linked into pipelined.
#
#   scripts/gitea.sh           print the path of the cached binary, building it first if missing
#   scripts/gitea.sh --check   print the path if cached; exit 1 if not (builds nothing)
#
# Why not `go install`: Gitea's go.mod has replace directives, which go install refuses. So:
# go mod download of the exact version, a writable copy of its source, go build with sqlite.
# The source copy stays beside the binary: without bindata Gitea serves its templates and
# translations from it (app.ini [server] STATIC_ROOT_PATH).
#
# The cache is $PIPELINED_TEST_CACHE, else $XDG_CACHE_HOME/pipelined-test, else
# ~/.cache/pipelined-test. A build takes 5 to 30 minutes on 2 cores; it runs at low priority.
set -eu
version=v1.27.3
cache=${PIPELINED_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pipelined-test}
dir=$cache/gitea-$version
bin=$dir/gitea

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "gitea $version is not built yet: run scripts/gitea.sh" >&2
	exit 1
fi

mkdir -p "$cache"
# One builder at a time: a second caller waits for the first one's binary.
exec 9>"$cache/gitea-$version.lock"
flock 9
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

echo "building gitea $version into $dir (once; later runs use the cache)" >&2
src=$(go mod download -json "code.gitea.io/gitea@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] && [ -d "$src" ] || { echo "go mod download gave no source directory for gitea $version" >&2; exit 1; }
work=$dir.tmp
rm -rf "$work"
mkdir -p "$work"
cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
(cd "$work/src" && CGO_ENABLED=1 nice -n 19 go build -trimpath -tags "sqlite sqlite_unlock_notify" -o "$work/gitea" .) >&2
rm -rf "$dir"
mv "$work" "$dir"
echo "$bin"
