"""Paths of the repository the tests read (fixtures and vectors are shared with the other verifiers)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "web" / "test" / "fixtures"
VECTORS = ROOT / "tests" / "vectors"
REQUIREMENTS = ROOT / "proto" / "gdpr_ledger" / "v1" / "event_requirements.toml"
