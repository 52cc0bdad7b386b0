import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from gdpr_ledger.v1 import event_pb2 as _event_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Entry(_message.Message):
    __slots__ = ("index", "prev_hash", "received_at", "producer", "subject_token", "subject_seq", "subject_prev_index", "event")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_SEQ_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_PREV_INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    index: int
    prev_hash: bytes
    received_at: _timestamp_pb2.Timestamp
    producer: str
    subject_token: bytes
    subject_seq: int
    subject_prev_index: int
    event: _event_pb2.Event
    def __init__(self, index: _Optional[int] = ..., prev_hash: _Optional[bytes] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., producer: _Optional[str] = ..., subject_token: _Optional[bytes] = ..., subject_seq: _Optional[int] = ..., subject_prev_index: _Optional[int] = ..., event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ...) -> None: ...
