"""protoc output for proto/gdpr_ledger/v1/*.proto; regenerate with clients/python/regen.py, never edit."""
