# Sourced by the scripts that take real data from Debian's archive (real-data.sh, glossary.sh, wordnet.sh): the checks, the
# lock and apt's private state they share. `archive_begin <name> <dest>` exits 0 printing <dest> when it is built
# already (also after waiting for a concurrent build); otherwise it returns holding the lock on fd 9, with `die`,
# $tmp (a scratch folder in the cache, removed on exit) and `apt_opts` (apt-get options for a private state directory
# in the cache, so the machine's own package lists are left alone; the machine's configured Debian mirror is used).
# shellcheck source=infra/cache-build.sh
. "$here/cache-build.sh"

archive_begin() {
  local name="$1" dest="$2"
  archive_name="$name"
  die() { echo "$archive_name: ERROR: $*" >&2; exit 1; }
  if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
  command -v apt-get >/dev/null || die "needs apt-get (a Debian or Ubuntu machine): the data comes from Debian's archive"
  command -v python3 >/dev/null || die "needs python3"
  [ "$(id -u)" = 0 ] || die "needs root for apt-get into a private directory (run as root, or copy a built $dest from a machine that has it)"
  cache_build_lock "$dest" "$cache/data/.$name.lock" "$cache/data/.$name"
  apt_dir="$cache/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  apt_opts=(-q -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Acquire::Languages=en -o APT::Sandbox::User=root)
}

# apt-get update into the private lists.
archive_update() {
  echo "$archive_name: fetching Debian's package indexes with apt-get update (private lists in $apt_dir, ~20 MB, once)" >&2
  apt-get "${apt_opts[@]}" update >&2 || die "apt-get update failed (see above)"
}

# `archive_deb PACKAGE VERSION SHA256 DIR`: download PACKAGE=VERSION into DIR (running apt-get update first when
# the private lists do not have it yet), check its pinned sha256 and unpack it into DIR/x.
archive_deb() {
  local pkg="$1" version="$2" sha256="$3" dir="$4" deb
  fetch_deb() { (cd "$dir" && apt-get "${apt_opts[@]}" download "$pkg=$version" >&2); }
  if ! fetch_deb; then
    archive_update
    fetch_deb || die "apt-get download $pkg=$version failed"
  fi
  deb="$(ls "$dir/${pkg}_"*.deb)"
  echo "$sha256  $deb" | sha256sum -c --quiet - || die "$deb does not have the pinned sha256 $sha256"
  dpkg-deb -x "$deb" "$dir/x"
}
