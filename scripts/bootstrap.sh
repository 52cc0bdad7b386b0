#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test gdpr-ledger: libclang (for the
# rocksdb crate's bindgen), systemd-analyze (for the systemd unit's test), nats-server (the
# replication tests), promtool (the alerting rules' test), Node.js (the
# JavaScript verifier in web/ and the Node example in clients/node/), Chromium (its page's browser
# test) and the Python client's modules (clients/python/requirements-dev.txt, run by
# tests/integration/python_client.rs). protoc comes from the
# protoc-bin-vendored crate, so it needs nothing here.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

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

install_packages() {
  [ "$#" -gt 0 ] || return 0
  echo "bootstrap: installing $*" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

packages=()
if ! have_libclang || ! command -v c++ >/dev/null 2>&1; then
  echo "bootstrap: libclang-dev and a C++ compiler are missing (needed to build RocksDB)" >&2
  packages+=(libclang-dev g++)
fi

# `bootstrap.sh --serve` (scripts/run.sh): only what building and serving need. The rest
# (systemd-analyze, nats-server, promtool, Chromium, Node.js, Python modules) is for the tests.
if [ "${1:-}" = "--serve" ]; then
  install_packages "${packages[@]}"
  exit 0
fi
# tests/integration/deploy_files.rs checks deploy/systemd/gdpr-ledger.service with systemd-analyze, which is
# in the systemd package (absent from minimal Debian images and containers).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "bootstrap: systemd-analyze is missing (the systemd unit's test needs it)" >&2
  packages+=(systemd)
fi

# tests/integration/replication_nats.rs runs a cluster of three nats-servers (Debian's package).
if ! command -v nats-server >/dev/null 2>&1; then
  echo "bootstrap: nats-server is missing (the replication tests run a NATS JetStream cluster)" >&2
  packages+=(nats-server)
fi

# tests/integration/deploy_files.rs runs `promtool check rules` on deploy/prometheus/alerts.yml; promtool is
# in Debian's prometheus package.
if ! command -v promtool >/dev/null 2>&1; then
  echo "bootstrap: promtool is missing (the alerting rules' test runs it)" >&2
  packages+=(prometheus)
fi

# web/test/browser.test.js drives Debian's Chromium (puppeteer-core never downloads a browser).
if [ ! -x /usr/bin/chromium ]; then
  echo "bootstrap: chromium is missing (the verifier page's browser test, web/, needs it)" >&2
  packages+=(chromium)
fi

install_packages "${packages[@]}"

# The independent JavaScript verifier (web/) runs under node's own test runner (Node 18 or later).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap: installing Node.js and npm (the JavaScript verifier's tests, web/)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi

# The Python client (clients/python) and its example (examples/python), run by
# tests/integration/python_client.rs, which also pip-installs the package from its path (setuptools, without
# build isolation).
if ! command -v python3 >/dev/null 2>&1; then
  echo "bootstrap: python3 is missing; install CPython 3.10 or later with pip first" >&2
  exit 1
fi
# The committed stubs are grpcio-tools' output byte for byte, so its pinned version is checked too.
pinned_tools=$(sed -n 's/^grpcio-tools==//p' clients/python/requirements-dev.txt)
if ! python3 -c "import grpc, blake3, cryptography, setuptools, importlib.metadata as m; assert m.version('grpcio-tools') == '$pinned_tools'" >/dev/null 2>&1; then
  echo "bootstrap: installing the Python client's requirements (clients/python)" >&2
  python3 -m pip install --quiet -r clients/python/requirements-dev.txt
fi
