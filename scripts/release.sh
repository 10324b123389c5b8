#!/usr/bin/env bash
# Builds the static Linux binary for hosts without a Rust toolchain (a bastion, a jump
# host), checks it, and prints its SHA-256.
#
#   scripts/release.sh           build target/x86_64-unknown-linux-musl/release/pglocks,
#                                stripped, into target/release-artifacts/ with its SHA-256
#   scripts/release.sh --check   build the same target, unoptimised, and run it: no
#                                dynamic dependencies, and `snapshot` against a throwaway
#                                PostgreSQL (CI runs this)
#
# Why --check builds with another profile (static-check in Cargo.toml: dev without debug
# info): what it checks is the linkage (the musl target, its static C runtime, musl-gcc for
# ring) and that the binary runs, and neither depends on the optimisation level. A cold
# optimised musl build takes over 15 minutes on a 2-core CI machine; this one about 3
# (docs/setup.md has the figures).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl

die() { echo "release.sh: $*" >&2; exit 1; }

rustup target list --installed 2>/dev/null | grep -qx "$target" \
  || die "the $target target is not installed: run 'rustup target add $target'"
command -v musl-gcc >/dev/null \
  || die "musl-gcc not found (ring needs it for $target): apt-get install musl-tools"

check=false
[ "${1:-}" = "--check" ] && check=true

if ! $check; then
  CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release --locked --target "$target" --bin pglocks
  # No debug line tables in the shipped binary: a third of its size.
  strip_dir=$(mktemp -d)
  trap 'rm -rf "$strip_dir"' EXIT
  cp "target/$target/release/pglocks" "$strip_dir/pglocks"
  strip "$strip_dir/pglocks"
  mkdir -p target/release-artifacts
  out=target/release-artifacts/pglocks-$(cargo pkgid | sed 's/.*[#@]//')-$target
  cp "$strip_dir/pglocks" "$out"
  (cd target/release-artifacts && sha256sum "$(basename "$out")" | tee "$(basename "$out").sha256")
  exit 0
fi

CC_x86_64_unknown_linux_musl=musl-gcc cargo build --locked --profile static-check --target "$target" --bin pglocks
out=target/$target/static-check/pglocks

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
trap '"${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$data"' EXIT
chmod 755 "$data"
[ ${#run_as[@]} -eq 0 ] || chown postgres "$data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${run_as[@]}" "$bindir/initdb" -D "$data/db" -U postgres -A trust >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -w -l "$data/log" \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data" start >/dev/null
json=$(env -i "$out" snapshot --format json "host=127.0.0.1 port=$port user=postgres dbname=postgres")
echo "$json" | grep -q '"pglocks.snapshot/' || die "snapshot printed no pglocks.snapshot document: $json"
echo "snapshot: ok against PostgreSQL $("$bindir/postgres" --version | awk '{print $3}')"
