#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build gdpr-ledger: libclang (for the rocksdb
# crate's bindgen). protoc comes from the protoc-bin-vendored crate, so it needs nothing here.
# Safe to run again: it installs only what is missing.
set -euo pipefail

have_libclang() {
  ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null && return 0
  compgen -G '/usr/lib/x86_64-linux-gnu/libclang*.so*' >/dev/null && return 0
  return 1
}

if ! command -v cargo >/dev/null 2>&1; then
  echo "bootstrap: cargo is missing; install Rust with rustup first" >&2
  exit 1
fi

if ! have_libclang || ! command -v c++ >/dev/null 2>&1; then
  echo "bootstrap: installing libclang-dev and a C++ compiler (needed to build RocksDB)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libclang-dev g++ >/dev/null
fi
