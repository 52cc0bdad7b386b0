"""Generated protobuf and gRPC stubs of gdpr_ledger.v1 (clients/python/regen.py)."""
