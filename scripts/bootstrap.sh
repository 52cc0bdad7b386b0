#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test gdpr-ledger: libclang (for the
# rocksdb crate's bindgen) and systemd-analyze (for the systemd unit's test). protoc comes from
# the protoc-bin-vendored crate, so it needs nothing here.
# Safe to run again: it installs only what is missing.
set -euo pipefail

# bindgen needs libclang itself and clang's builtin headers (stddef.h...). A fresh Debian machine
# may carry libclang-cpp (a different library) without either, so look for both precisely.
have_libclang() {
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' libclang-dev 2>/dev/null | grep -q "install ok installed"
    return
  fi
  compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null &&
    compgen -G '/usr/lib/llvm-*/lib/clang/*/include/stddef.h' >/dev/null
}

if ! command -v cargo >/dev/null 2>&1; then
  echo "bootstrap: cargo is missing; install Rust with rustup first" >&2
  exit 1
fi

packages=()
if ! have_libclang || ! command -v c++ >/dev/null 2>&1; then
  echo "bootstrap: libclang-dev and a C++ compiler are missing (needed to build RocksDB)" >&2
  packages+=(libclang-dev g++)
fi
# tests/deploy_files.rs checks deploy/systemd/gdpr-ledger.service with systemd-analyze, which is
# in the systemd package (absent from minimal Debian images and containers).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "bootstrap: systemd-analyze is missing (the systemd unit's test needs it)" >&2
  packages+=(systemd)
fi

if [ "${#packages[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi
