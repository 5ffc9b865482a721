#!/bin/sh
# demo.sh — the first five minutes (make demo): a throwaway git repository with a
# Dockerfile, a configuration that builds it, runs it and mirrors its artifacts with rsync,
# and a real pipelined daemon that builds it. Everything lives in ./demo/, which the next
# run replaces. Exits non-zero if the build did not succeed.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
demo=$top/demo
image=pipelined-demo/busybox:1

say() { printf '\n== %s\n' "$*"; }

say "setting up (packages, binaries, a base image made locally: there is no registry)"
scripts/install-deps.sh
make --no-print-directory build >/dev/null
scripts/base-image.sh "$image"
if [ -d "$demo/work" ]; then
	# Containers and images of an earlier demo run go with it.
	docker ps --all --quiet --filter "label=pipelined.workdir=$demo/work" | xargs -r docker rm -f >/dev/null
	docker images --quiet --filter "label=pipelined.workdir=$demo/work" | xargs -r docker rmi -f >/dev/null
fi
rm -rf "$demo"
mkdir -p "$demo"

say "a throwaway repository: $demo/remote.git"
git init -q -b main "$demo/src"
cat > "$demo/src/Dockerfile" <<EOT
FROM $image
COPY site.sh /site.sh
CMD ["/bin/sh", "/site.sh"]
EOT
cat > "$demo/src/site.sh" <<'EOT'
#!/bin/sh
# The "build": it runs in the container, reads the checkout at /build and writes the
# artifacts to /drop.
set -e
echo "building $BUILD_PROJECT $BUILD_REF_NAME at $BUILD_SHORT_COMMIT"
{
	echo "<h1>$BUILD_PROJECT</h1>"
	echo "<p>built from $BUILD_REF at $BUILD_COMMIT</p>"
	echo "<pre>"; cat /build/README; echo "</pre>"
} > /drop/index.html
echo "wrote /drop/index.html"
EOT
echo "Hello from the pipelined demo." > "$demo/src/README"
git -C "$demo/src" add -A
git -C "$demo/src" -c user.name=demo -c user.email=demo@example.com commit -q -m "first commit"
git clone -q --bare "$demo/src" "$demo/remote.git"

say "its configuration: $demo/pipelined.ini"
cat > "$demo/pipelined.ini" <<EOT
[demo]
remote = $demo/remote.git
branches = main
build = True
run = True
# the base image exists only locally
pull = False
tag = pipelined-demo:\${BUILD_SHORT_COMMIT}
rsync.destination = $demo/www
success_callback = /bin/echo the demo build succeeded
error_callback = /bin/echo the demo build failed
EOT
cat "$demo/pipelined.ini"

say "starting: bin/pipelined --workdir $demo/work --config $demo/pipelined.ini --interval 5"
bin/pipelined --workdir "$demo/work" --config "$demo/pipelined.ini" --interval 5 2> "$demo/pipelined.log" &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' EXIT

say "waiting for the first build (pipelined status shows it)"
status=''
for _ in $(seq 600); do
	status=$(cat "$demo"/work/demo/*/*/build.json 2>/dev/null | sed -n 's/^  "result": "\(.*\)",$/\1/p' | head -n1)
	case "$status" in success | failed | canceled | skipped) break ;; esac
	kill -0 "$pid" 2>/dev/null || { cat "$demo/pipelined.log"; echo "pipelined exited" >&2; exit 1; }
	sleep 0.5
done
bin/pipelined status --workdir "$demo/work"

dir=$(dirname "$(ls "$demo"/work/demo/*/*/build.json | head -n1)")
say "the build: $status"
echo "  log:       $dir/build.log"
echo "  status:    $dir/build.json"
echo "  artifacts: $dir/drop/  (mirrored to $demo/www/)"
echo "  daemon:    $demo/pipelined.log"
say "the end of build.log"
tail -n 12 "$dir/build.log"

say "stopping pipelined with SIGINT (drain)"
kill -INT "$pid"
wait "$pid" || true
trap - EXIT
cat "$demo/pipelined.log"

[ "$status" = success ] && [ -f "$demo/www/index.html" ] || { echo "the demo build did not succeed" >&2; exit 1; }
say "done: open $demo/www/index.html (what the build published) and $demo/work/index.html (the status page), or try: bin/pipelined status --workdir $demo/work"
