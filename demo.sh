#!/usr/bin/env bash
# The main job on the embedded default: install what is needed, build, start
# a local cofferd with its own folder, create an account and a repository on
# it, back up a sample folder, list it, restore it and compare.  Everything
# is kept under ./demo/ (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
bin=$PWD/build
demo=$PWD/demo
port=${COFFER_DEMO_PORT:-8418}
rm -rf "$demo"
mkdir -p "$demo/sample"
# A sample folder: this source tree, plus a few awkward files.
cp -a lib cmd docs "$demo/sample/"
printf 'hello\n' > "$demo/sample/hello.txt"
ln -s hello.txt "$demo/sample/link-to-hello"
ln "$demo/sample/hello.txt" "$demo/sample/hard-link-to-hello"
head -c 5000000 /dev/urandom > "$demo/sample/random.bin"

# The server: one folder, SQLite + files, loopback only.
"$bin/cofferd" --data "$demo/server" --listen "127.0.0.1:$port" \
	--log "$demo/server.log" > "$demo/server.out" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	grep -q listening "$demo/server.out" 2>/dev/null && break
	sleep 0.1
done
cat "$demo/server.out"
invite=$("$bin/cofferd" admin --data "$demo/server" invite)

# The client: its device key and cache in demo/client, a password file
# (a real user would type it at the prompt instead).
umask 077
head -c 24 /dev/urandom | base64 > "$demo/password"
export COFFER_REPO="http://127.0.0.1:$port" COFFER_PASSWORD_FILE="$demo/password"
export COFFER_CONFIG_DIR="$demo/client"
coffer=$bin/coffer
set -x
"$coffer" init --invite "$invite" --name demo-laptop \
	--recovery-key-file "$demo/recovery-key.txt"
"$coffer" backup "$demo/sample"
echo "one more line" >> "$demo/sample/hello.txt"
"$coffer" backup "$demo/sample"
"$coffer" snapshots
"$coffer" ls latest | head -n 12
"$coffer" diff "$("$coffer" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" latest
"$coffer" restore latest --target "$demo/restored"
"$coffer" check --read-data
diff -r "$demo/sample" "$demo/restored$demo/sample"
"$coffer" device list
"$bin/cofferd" admin --data "$demo/server" accounts
set +x
echo
echo "demo ok: $demo/sample was backed up through cofferd (data in $demo/server)"
echo "and restored bit for bit into $demo/restored$demo/sample"
