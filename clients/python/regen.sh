#!/usr/bin/env bash
# Regenerates the committed gRPC stubs of the Python client from proto/ (see regen.py;
# `--check` compares instead of writing).
set -euo pipefail
exec python3 "$(dirname "$0")/regen.py" "$@"
