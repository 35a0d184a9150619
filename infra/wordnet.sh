#!/usr/bin/env bash
# General English written by people, on every subject: WordNet 3.0's glosses (Princeton University; the WordNet
# licence, a BSD-style one) from Debian's `wordnet-base` package, fetched with apt (no other network source) and
# cached; nothing of it is committed. Prints the directory holding glosses.jsonl: one {"id", "text"} per synset
# (117,659; "word, word: definition; "an example sentence"", ~1.6M words) and COPYRIGHT. With the fortune
# cookies of infra/real-data.sh it is the general text infra/general-base.sh pretrains a base on. Pinned by
# version and sha256; apt runs with the private state directory infra/real-data.sh uses. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
# ---- pins ---------------------------------------------------------------------------------------------------------
WORDNET_VERSION=1:3.0-37
WORDNET_SHA256=61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752
BUILD=1 # bump when infra/wordnet.py changes what it writes
# -------------------------------------------------------------------------------------------------------------------
dest="$cache/data/wordnet-${WORDNET_VERSION#*:}-v$BUILD"
# shellcheck source=infra/debian-archive.sh
. "$here/debian-archive.sh"
archive_begin wordnet "$dest"
archive_deb wordnet-base "$WORDNET_VERSION" "$WORDNET_SHA256" "$tmp"

rm -rf "$dest.partial"
python3 "$here/wordnet.py" "$tmp/x/usr/share/wordnet" "$dest.partial"
cp "$tmp/x/usr/share/doc/wordnet-base/copyright" "$dest.partial/COPYRIGHT"
rm -rf "$dest" && mv "$dest.partial" "$dest" && touch "$dest/.complete"
echo "$dest"
