#!/usr/bin/env bash
# Real, human-written data for the debian-en example, the demo and bench:adapt, fetched from Debian's archive
# with apt (no other network source) and cached; nothing of it is committed. Prints the data directory:
#
#   domain/descriptions-NNN.jsonl  ~34k Debian package descriptions, one per source package (domain corpus; {id,text,source,metadata})
#   general/fortunes.jsonl         ~9.7k fortune cookies (general English for the control arm and the head warm-up)
#   task/{train,dev,test}.jsonl    description -> Debian Section, 10 classes, 16 / 8 / 40 per class ({text,label})
#   task/train-48.jsonl            48 per class (train.jsonl is its first 16 per class); task/unlabeled.jsonl
#   meta.json                      counts, seed, sections, a hash of the content
#
# Sources, pinned: the Packages and Translation-en indexes of Debian 12 "bookworm" main (its final point release,
# 12.15: the index no longer changes), checked by sha256 after apt has checked the archive's signature; the
# `fortunes` package at a pinned version and sha256. apt runs with a private state directory in the cache, so the
# machine's own package lists are left alone; it uses the machine's configured Debian mirror. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${DAPT_CACHE_DIR:-$HOME/.cache/dapt}"
# ---- pins ---------------------------------------------------------------------------------------------------------
PACKAGES_SHA256=515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f      # bookworm main amd64 Packages
TRANSLATION_SHA256=62f59c3cdca9786e4f7adf9002f9f5729a684adcb4667e58e448dec9b5a46c7f   # bookworm main Translation-en
FORTUNES_VERSION=1:1.99.1-7.3
FORTUNES_SHA256=41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5
BUILD=1 # bump when infra/real_data.py changes what it writes
# -------------------------------------------------------------------------------------------------------------------
dest="$cache/data/debian-bookworm-v$BUILD"
# shellcheck source=infra/debian-archive.sh
. "$here/debian-archive.sh"
archive_begin real-data "$dest"
archive_update

index_file() { # identifier [extra indextargets filter]
  apt-get "${apt_opts[@]}" indextargets --format '$(FILENAME)' "Codename: bookworm" "Component: main" "Identifier: $1" "${@:2}" | head -n 1
}
packages="$(index_file Packages "Architecture: amd64")"
translation="$(index_file Translations "Language: en")"
[ -n "$packages" ] && [ -n "$translation" ] && [ -f "$packages" ] && [ -f "$translation" ] ||
  die "no Debian bookworm main index after apt-get update: the machine's apt sources need a 'bookworm' suite with component 'main'"
/usr/lib/apt/apt-helper cat-file "$packages" >"$tmp/Packages"
/usr/lib/apt/apt-helper cat-file "$translation" >"$tmp/Translation-en"
echo "$PACKAGES_SHA256  $tmp/Packages" | sha256sum -c --quiet - ||
  die "$packages is not the pinned bookworm 12.15 Packages index (sha256 $PACKAGES_SHA256)"
echo "$TRANSLATION_SHA256  $tmp/Translation-en" | sha256sum -c --quiet - ||
  die "$translation is not the pinned bookworm 12.15 Translation-en index (sha256 $TRANSLATION_SHA256)"

archive_deb fortunes "$FORTUNES_VERSION" "$FORTUNES_SHA256" "$tmp"

rm -rf "$dest.partial"
python3 "$here/real_data.py" "$tmp/Packages" "$tmp/Translation-en" "$tmp/x/usr/share/games/fortunes" "$dest.partial"
rm -rf "$dest" && mv "$dest.partial" "$dest" && touch "$dest/.complete"
echo "$dest"
