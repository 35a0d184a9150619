#!/usr/bin/env bash
# A real, human-written computing glossary for dictionary-enhanced pretraining (the longtail stage's `dictionary`
# and bench:adapt's dictionary arm): FOLDOC, the Free On-line Dictionary of Computing (Denis Howe et al., GNU FDL),
# from Debian's `dict-foldoc` package, fetched with apt (no other network source) and cached; nothing of it is
# committed. Prints the directory holding glossary.jsonl: one {"term", "definition"} per headword (~15k; an entry's
# synonyms and acronym each get the same definition), the definition being the entry's first sentences (about
# 30 words) without FOLDOC's markup. Pinned by version and sha256; apt runs with the private state directory
# infra/real-data.sh uses. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
# ---- pins ---------------------------------------------------------------------------------------------------------
FOLDOC_VERSION=20230119-1
FOLDOC_SHA256=745cbedb55c2da609cc88ee0284e9d11a67a11ae3709daf7bad0e895ac3294c3
BUILD=1 # bump when infra/foldoc.py changes what it writes
# -------------------------------------------------------------------------------------------------------------------
dest="$cache/data/foldoc-$FOLDOC_VERSION-v$BUILD"
# shellcheck source=infra/debian-archive.sh
. "$here/debian-archive.sh"
archive_begin glossary "$dest"
archive_deb dict-foldoc "$FOLDOC_VERSION" "$FOLDOC_SHA256" "$tmp"

rm -rf "$dest.partial"
python3 "$here/foldoc.py" "$tmp/x/usr/share/dictd/foldoc.index" "$tmp/x/usr/share/dictd/foldoc.dict.dz" "$dest.partial"
cp "$tmp/x/usr/share/doc/dict-foldoc/copyright" "$dest.partial/COPYRIGHT"
rm -rf "$dest" && mv "$dest.partial" "$dest" && touch "$dest/.complete"
echo "$dest"
