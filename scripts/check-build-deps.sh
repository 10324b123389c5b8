#!/usr/bin/env bash
# Fails when building pglocks would need more than a Rust toolchain: libclang (bindgen,
# clang-sys), cmake, a C library parser (pg_query), or a *-sys crate that links a system
# library. The README promises `cargo run --release -- demo` on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
# *-sys crates that link no system library: pure Rust or vendored sources.
allowed_sys='^(linux-raw-sys)$'
crates=$(cargo tree -e normal,build --prefix none --format '{p}' | awk '{print $1}' | sort -u)
bad=$(printf '%s\n' "$crates" | grep -E '^(bindgen|clang-sys|cmake|pg_query|libpg_query.*)$|-sys$' | grep -Ev "$allowed_sys" || true)
if [ -n "$bad" ]; then
  echo "build dependencies that need more than a Rust toolchain:" >&2
  printf '  %s\n' $bad >&2
  cargo tree -e normal,build -i "$(printf '%s\n' $bad | head -1)" >&2 || true
  exit 1
fi
echo "ok: no bindgen, clang-sys, cmake, pg_query or system-library -sys crate"
