from gdpr_ledger.v1 import event_pb2 as _event_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReplicatedRequest(_message.Message):
    __slots__ = ("producer", "corrects_any_entry", "events", "close_erasures")
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    CORRECTS_ANY_ENTRY_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CLOSE_ERASURES_FIELD_NUMBER: _ClassVar[int]
    producer: str
    corrects_any_entry: bool
    events: _containers.RepeatedCompositeFieldContainer[ReplicatedEvent]
    close_erasures: CloseErasures
    def __init__(self, producer: _Optional[str] = ..., corrects_any_entry: _Optional[bool] = ..., events: _Optional[_Iterable[_Union[ReplicatedEvent, _Mapping]]] = ..., close_erasures: _Optional[_Union[CloseErasures, _Mapping]] = ...) -> None: ...

class CloseErasures(_message.Message):
    __slots__ = ("tokens", "reason", "skip_closed")
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SKIP_CLOSED_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedScalarFieldContainer[bytes]
    reason: str
    skip_closed: bool
    def __init__(self, tokens: _Optional[_Iterable[bytes]] = ..., reason: _Optional[str] = ..., skip_closed: _Optional[bool] = ...) -> None: ...

class ReplicatedEvent(_message.Message):
    __slots__ = ("event", "subject_row", "linked_row", "content_digest", "identifiers", "subject_token", "opens_erasure", "details")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ROW_FIELD_NUMBER: _ClassVar[int]
    LINKED_ROW_FIELD_NUMBER: _ClassVar[int]
    CONTENT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OPENS_ERASURE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.Event
    subject_row: bytes
    linked_row: bytes
    content_digest: bytes
    identifiers: _containers.RepeatedScalarFieldContainer[str]
    subject_token: bytes
    opens_erasure: str
    details: SealedDetails
    def __init__(self, event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., subject_row: _Optional[bytes] = ..., linked_row: _Optional[bytes] = ..., content_digest: _Optional[bytes] = ..., identifiers: _Optional[_Iterable[str]] = ..., subject_token: _Optional[bytes] = ..., opens_erasure: _Optional[str] = ..., details: _Optional[_Union[SealedDetails, _Mapping]] = ...) -> None: ...

class SealedDetails(_message.Message):
    __slots__ = ("key", "sealed")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    sealed: bytes
    def __init__(self, key: _Optional[bytes] = ..., sealed: _Optional[bytes] = ...) -> None: ...

class ReplicationControl(_message.Message):
    __slots__ = ("genesis", "close_epoch")
    GENESIS_FIELD_NUMBER: _ClassVar[int]
    CLOSE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    genesis: Genesis
    close_epoch: int
    def __init__(self, genesis: _Optional[_Union[Genesis, _Mapping]] = ..., close_epoch: _Optional[int] = ...) -> None: ...

class Genesis(_message.Message):
    __slots__ = ("origin", "verifier_key_ids", "secrets_check", "tree_size", "ratchet_epoch", "ratchet_check")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    SECRETS_CHECK_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    RATCHET_EPOCH_FIELD_NUMBER: _ClassVar[int]
    RATCHET_CHECK_FIELD_NUMBER: _ClassVar[int]
    origin: str
    verifier_key_ids: _containers.RepeatedScalarFieldContainer[str]
    secrets_check: bytes
    tree_size: int
    ratchet_epoch: int
    ratchet_check: bytes
    def __init__(self, origin: _Optional[str] = ..., verifier_key_ids: _Optional[_Iterable[str]] = ..., secrets_check: _Optional[bytes] = ..., tree_size: _Optional[int] = ..., ratchet_epoch: _Optional[int] = ..., ratchet_check: _Optional[bytes] = ...) -> None: ...
