#!/usr/bin/env bash
# The main job on the embedded default: install what is needed, build, create
# a repository in a local folder, back up a sample folder, list it, restore
# it and compare.  Everything is kept under ./demo/ (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
coffer=$PWD/build/coffer
demo=$PWD/demo
rm -rf "$demo"
mkdir -p "$demo/sample"
# A sample folder: this source tree, plus a few awkward files.
cp -a lib cmd docs "$demo/sample/"
printf 'hello\n' > "$demo/sample/hello.txt"
ln -s hello.txt "$demo/sample/link-to-hello"
ln "$demo/sample/hello.txt" "$demo/sample/hard-link-to-hello"
head -c 5000000 /dev/urandom > "$demo/sample/random.bin"
# A password file (a real user would type it at the prompt instead).
umask 077
head -c 24 /dev/urandom | base64 > "$demo/password"
export COFFER_REPO="$demo/repository" COFFER_PASSWORD_FILE="$demo/password"
export COFFER_CACHE_DIR="$demo/cache"
set -x
"$coffer" init
"$coffer" backup "$demo/sample"
echo "one more line" >> "$demo/sample/hello.txt"
"$coffer" backup "$demo/sample"
"$coffer" snapshots
"$coffer" ls latest | head -n 12
"$coffer" diff "$("$coffer" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" latest
"$coffer" restore latest --target "$demo/restored"
"$coffer" check --read-data
diff -r "$demo/sample" "$demo/restored$demo/sample"
set +x
echo
echo "demo ok: $demo/sample was backed up to $demo/repository and restored"
echo "bit for bit into $demo/restored$demo/sample"
