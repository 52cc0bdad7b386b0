#!/usr/bin/env python3
"""Generates the committed gRPC stubs of the Python client from the repository's proto/, or checks
that the committed ones are fresh.

    python3 clients/python/regen.py          # rewrite src/gdpr_ledger/v1/*_pb2*.py(i)
    python3 clients/python/regen.py --check  # exit 1, naming the files, if any is stale

The stubs are protoc's output byte for byte (grpc_tools.protoc, the version pinned in
requirements-dev.txt): `*_pb2.py`, `*_pb2.pyi` and `*_pb2_grpc.py` for every
proto/gdpr_ledger/v1/*.proto. Their imports (`from gdpr_ledger.v1 import event_pb2`) follow the
proto files' paths, so they live in the top-level package `gdpr_ledger.v1` of this distribution.
"""

import argparse
import filecmp
import importlib.resources
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parents[1] / "proto"
STUBS = HERE / "src" / "gdpr_ledger" / "v1"
GENERATED = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
REGENERATE = "python3 clients/python/regen.py"


def generate(out_dir: Path) -> list[str]:
    """Runs protoc into out_dir; returns the generated files' names (under gdpr_ledger/v1)."""
    from grpc_tools import protoc

    well_known = importlib.resources.files("grpc_tools") / "_proto"
    protos = sorted(p.relative_to(PROTO_ROOT).as_posix() for p in (PROTO_ROOT / "gdpr_ledger" / "v1").glob("*.proto"))
    if not protos:
        sys.exit(f"no .proto files under {PROTO_ROOT}")
    args = ["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{well_known}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        sys.exit(f"protoc failed: {' '.join(args)}")
    return sorted(p.name for p in (out_dir / "gdpr_ledger" / "v1").iterdir() if p.name.endswith(GENERATED))


def committed() -> list[str]:
    return sorted(p.name for p in STUBS.iterdir() if p.name.endswith(GENERATED))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        sys.exit("grpc_tools is missing: python3 -m pip install -r clients/python/requirements-dev.txt")
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir = Path(tmp)
        fresh = generate(fresh_dir)
        if args.check:
            stale = sorted(set(fresh) ^ set(committed()))
            stale += [n for n in fresh if n in committed()
                      and not filecmp.cmp(fresh_dir / "gdpr_ledger" / "v1" / n, STUBS / n, shallow=False)]
            if stale:
                print(f"stale generated stubs in {STUBS.relative_to(HERE.parents[1])}: {', '.join(sorted(stale))}; "
                      f"regenerate them with: {REGENERATE}", file=sys.stderr)
                return 1
            print(f"stubs fresh: {len(fresh)} files match protoc's output for {PROTO_ROOT.relative_to(HERE.parents[1])}")
            return 0
        for name in committed():
            if name not in fresh:
                (STUBS / name).unlink()
        for name in fresh:
            shutil.copyfile(fresh_dir / "gdpr_ledger" / "v1" / name, STUBS / name)
        print(f"wrote {len(fresh)} files to {STUBS}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
