#!/usr/bin/env bash
# Builds the static Linux binary for hosts without a Rust toolchain (a bastion, a jump
# host), checks it, and prints its SHA-256.
#
#   scripts/release.sh           build target/x86_64-unknown-linux-musl/release/pglocks
#   scripts/release.sh --check   also run it: no dynamic dependencies, and `snapshot`
#                                against a throwaway PostgreSQL (CI runs this)
#
# Needs: rustup's x86_64-unknown-linux-musl target (rustup target add
# x86_64-unknown-linux-musl) and musl-gcc (Debian/Ubuntu: apt-get install musl-tools), which
# builds ring's C and assembly parts. --check also needs PostgreSQL server binaries
# (PGLOCKS_PG_BINDIR, or /usr/lib/postgresql/*/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
bin=target/$target/release/pglocks

die() { echo "release.sh: $*" >&2; exit 1; }

rustup target list --installed 2>/dev/null | grep -qx "$target" \
  || die "the $target target is not installed: run 'rustup target add $target'"
command -v musl-gcc >/dev/null \
  || die "musl-gcc not found (ring needs it for $target): apt-get install musl-tools"

CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release --locked --target "$target" --bin pglocks
# No debug line tables in the shipped binary: a third of its size.
strip_dir=$(mktemp -d)
trap 'rm -rf "$strip_dir"' EXIT
cp "$bin" "$strip_dir/pglocks"
strip "$strip_dir/pglocks"
mkdir -p target/release-artifacts
out=target/release-artifacts/pglocks-$(cargo pkgid | sed 's/.*[#@]//')-$target
cp "$strip_dir/pglocks" "$out"
(cd target/release-artifacts && sha256sum "$(basename "$out")" | tee "$(basename "$out").sha256")

[ "${1:-}" = "--check" ] || exit 0

# 1. Static: the ELF has no interpreter and no NEEDED libraries.
if readelf -l "$out" | grep -q "Requesting program interpreter"; then
  die "$out has a program interpreter: it is dynamically linked"
fi
if readelf -d "$out" | grep -q "(NEEDED)"; then
  die "$out needs shared libraries: $(readelf -d "$out" | grep NEEDED | tr -s ' ')"
fi
echo "static: no interpreter, no NEEDED libraries"

# 2. It runs `snapshot` against a throwaway cluster, as the server's own unprivileged user.
bindir=${PGLOCKS_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bindir/initdb" ] || die "no PostgreSQL server binaries: set PGLOCKS_PG_BINDIR"
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to own the cluster"
  run_as=(runuser -u postgres --)
fi
data=$(mktemp -d /tmp/pglocks-release-XXXXXX)
trap 'rm -rf "$strip_dir"; "${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
chmod 755 "$data"
[ ${#run_as[@]} -eq 0 ] || chown postgres "$data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${run_as[@]}" "$bindir/initdb" -D "$data/db" -U postgres -A trust >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -w -l "$data/log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data" start >/dev/null
json=$(env -i "$out" snapshot --format json "host=127.0.0.1 port=$port user=postgres dbname=postgres")
echo "$json" | grep -q '"pglocks.snapshot/' || die "snapshot printed no pglocks.snapshot document: $json"
echo "snapshot: ok against PostgreSQL $("$bindir/postgres" --version | awk '{print $3}')"
