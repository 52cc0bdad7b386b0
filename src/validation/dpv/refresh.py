#!/usr/bin/env python3
"""Rewrite the DPV term lists of this folder from a checkout of https://github.com/w3c/dpv.

    python3 src/validation/dpv/refresh.py /path/to/dpv-checkout 2.3

It reads the release's CSV exports (`<version>/dpv/dpv.csv`, `<version>/pd/pd.csv`,
`<version>/legal/eu/gdpr/eu-gdpr.csv`), keeps the classes (a category, purpose, legal basis or
justification is a class; properties are not values of those fields) and writes one CURIE per
line with DPV's label after a tab, sorted, under a header naming the source, the commit and the
version. `VERSION` gets the version. Only the standard library is used.
"""

import csv
import pathlib
import subprocess
import sys

LISTS = {
    "dpv": "dpv/dpv.csv",
    "pd": "pd/pd.csv",
    "eu-gdpr": "legal/eu/gdpr/eu-gdpr.csv",
}


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkout, version = pathlib.Path(sys.argv[1]), sys.argv[2]
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = pathlib.Path(__file__).resolve().parent
    for prefix, path in LISTS.items():
        source = checkout / version / path
        with source.open(newline="", encoding="utf-8") as file:
            terms = sorted(
                {
                    (row["term"], row["label"].strip())
                    for row in csv.DictReader(file)
                    if row["type"] == "class"
                }
            )
        for term, label in terms:
            if not label or any(c in label for c in "\t\r\n"):
                sys.exit(f"{prefix}:{term}: a label the list cannot hold: {label!r}")
        header = (
            f"# The classes of DPV {version}'s {prefix} vocabulary: CURIE, tab, DPV's label.\n"
            f"# Source: https://github.com/w3c/dpv/blob/{commit}/{version}/{path}\n"
            f"# (W3C Document License). Regenerate with src/validation/dpv/refresh.py.\n"
        )
        body = "".join(f"{prefix}:{term}\t{label}\n" for term, label in terms)
        (here / f"{prefix}.txt").write_text(header + body, encoding="utf-8")
        print(f"{prefix}: {len(terms)} terms")
    (here / "VERSION").write_text(f"{version}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
