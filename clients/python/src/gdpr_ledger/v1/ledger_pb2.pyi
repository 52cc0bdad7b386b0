from gdpr_ledger.v1 import event_pb2 as _event_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AppendRequest(_message.Message):
    __slots__ = ("submission", "include_bundle")
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    submission: _event_pb2.EventSubmission
    include_bundle: bool
    def __init__(self, submission: _Optional[_Union[_event_pb2.EventSubmission, _Mapping]] = ..., include_bundle: _Optional[bool] = ...) -> None: ...

class AppendResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: Receipt
    def __init__(self, receipt: _Optional[_Union[Receipt, _Mapping]] = ...) -> None: ...

class AppendBatchRequest(_message.Message):
    __slots__ = ("submissions", "include_bundle")
    SUBMISSIONS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    submissions: _containers.RepeatedCompositeFieldContainer[_event_pb2.EventSubmission]
    include_bundle: bool
    def __init__(self, submissions: _Optional[_Iterable[_Union[_event_pb2.EventSubmission, _Mapping]]] = ..., include_bundle: _Optional[bool] = ...) -> None: ...

class AppendBatchResponse(_message.Message):
    __slots__ = ("receipts",)
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    receipts: _containers.RepeatedCompositeFieldContainer[Receipt]
    def __init__(self, receipts: _Optional[_Iterable[_Union[Receipt, _Mapping]]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("index", "leaf_hash", "signature", "key_id", "checkpoint", "duplicate", "bundle_json", "consent_warning", "vocabulary_warning")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    CONSENT_WARNING_FIELD_NUMBER: _ClassVar[int]
    VOCABULARY_WARNING_FIELD_NUMBER: _ClassVar[int]
    index: int
    leaf_hash: bytes
    signature: bytes
    key_id: str
    checkpoint: str
    duplicate: bool
    bundle_json: str
    consent_warning: str
    vocabulary_warning: str
    def __init__(self, index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ..., checkpoint: _Optional[str] = ..., duplicate: _Optional[bool] = ..., bundle_json: _Optional[str] = ..., consent_warning: _Optional[str] = ..., vocabulary_warning: _Optional[str] = ...) -> None: ...

class GetEntryRequest(_message.Message):
    __slots__ = ("index", "event_id", "producer")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    index: int
    event_id: str
    producer: str
    def __init__(self, index: _Optional[int] = ..., event_id: _Optional[str] = ..., producer: _Optional[str] = ...) -> None: ...

class GetEntryResponse(_message.Message):
    __slots__ = ("index", "entry", "leaf_hash", "signature", "key_id")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    index: int
    entry: bytes
    leaf_hash: bytes
    signature: bytes
    key_id: str
    def __init__(self, index: _Optional[int] = ..., entry: _Optional[bytes] = ..., leaf_hash: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ("tree_size",)
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tree_size: int
    def __init__(self, tree_size: _Optional[int] = ...) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint", "tree_size", "root_hash", "verifier_key")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_KEY_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    tree_size: int
    root_hash: bytes
    verifier_key: str
    def __init__(self, checkpoint: _Optional[str] = ..., tree_size: _Optional[int] = ..., root_hash: _Optional[bytes] = ..., verifier_key: _Optional[str] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("index", "tree_size", "consistency_from")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FROM_FIELD_NUMBER: _ClassVar[int]
    index: int
    tree_size: int
    consistency_from: int
    def __init__(self, index: _Optional[int] = ..., tree_size: _Optional[int] = ..., consistency_from: _Optional[int] = ...) -> None: ...

class ProofBundle(_message.Message):
    __slots__ = ("bundle_json",)
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    bundle_json: str
    def __init__(self, bundle_json: _Optional[str] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("first_size", "second_size")
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    first_size: int
    second_size: int
    def __init__(self, first_size: _Optional[int] = ..., second_size: _Optional[int] = ...) -> None: ...

class GetConsistencyProofResponse(_message.Message):
    __slots__ = ("first_size", "second_size", "proof", "first_checkpoint", "second_checkpoint")
    FIRST_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_SIZE_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    SECOND_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    first_size: int
    second_size: int
    proof: _containers.RepeatedScalarFieldContainer[bytes]
    first_checkpoint: str
    second_checkpoint: str
    def __init__(self, first_size: _Optional[int] = ..., second_size: _Optional[int] = ..., proof: _Optional[_Iterable[bytes]] = ..., first_checkpoint: _Optional[str] = ..., second_checkpoint: _Optional[str] = ...) -> None: ...

class GetSubjectLifecycleRequest(_message.Message):
    __slots__ = ("identifier", "token", "tree_size")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    identifier: _event_pb2.SubjectIdentifier
    token: bytes
    tree_size: int
    def __init__(self, identifier: _Optional[_Union[_event_pb2.SubjectIdentifier, _Mapping]] = ..., token: _Optional[bytes] = ..., tree_size: _Optional[int] = ...) -> None: ...

class SubjectLifecycleChunk(_message.Message):
    __slots__ = ("header", "entry", "entries")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    header: LifecycleHeader
    entry: LifecycleEntry
    entries: LifecycleEntries
    def __init__(self, header: _Optional[_Union[LifecycleHeader, _Mapping]] = ..., entry: _Optional[_Union[LifecycleEntry, _Mapping]] = ..., entries: _Optional[_Union[LifecycleEntries, _Mapping]] = ...) -> None: ...

class LifecycleEntries(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LifecycleEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[LifecycleEntry, _Mapping]]] = ...) -> None: ...

class LifecycleHeader(_message.Message):
    __slots__ = ("checkpoint", "tree_size", "token", "subject_proof", "count", "details_erased")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_PROOF_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DETAILS_ERASED_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    tree_size: int
    token: bytes
    subject_proof: bytes
    count: int
    details_erased: bool
    def __init__(self, checkpoint: _Optional[str] = ..., tree_size: _Optional[int] = ..., token: _Optional[bytes] = ..., subject_proof: _Optional[bytes] = ..., count: _Optional[int] = ..., details_erased: _Optional[bool] = ...) -> None: ...

class LifecycleEntry(_message.Message):
    __slots__ = ("index", "entry", "signature", "key_id", "inclusion_proof")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    index: int
    entry: bytes
    signature: bytes
    key_id: str
    inclusion_proof: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, index: _Optional[int] = ..., entry: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ..., inclusion_proof: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("tree_size", "groups_committed", "entries_appended", "jobs_acknowledged", "wal_syncs", "failed", "rocksdb_statistics")
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    GROUPS_COMMITTED_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_APPENDED_FIELD_NUMBER: _ClassVar[int]
    JOBS_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    WAL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ROCKSDB_STATISTICS_FIELD_NUMBER: _ClassVar[int]
    tree_size: int
    groups_committed: int
    entries_appended: int
    jobs_acknowledged: int
    wal_syncs: int
    failed: bool
    rocksdb_statistics: str
    def __init__(self, tree_size: _Optional[int] = ..., groups_committed: _Optional[int] = ..., entries_appended: _Optional[int] = ..., jobs_acknowledged: _Optional[int] = ..., wal_syncs: _Optional[int] = ..., failed: _Optional[bool] = ..., rocksdb_statistics: _Optional[str] = ...) -> None: ...
