import datetime

from gdpr_ledger.v1 import event_pb2 as _event_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListProcessingWithoutConsentRequest(_message.Message):
    __slots__ = ("from_seconds", "until_seconds", "system", "as_of")
    FROM_SECONDS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    from_seconds: int
    until_seconds: int
    system: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, from_seconds: _Optional[int] = ..., until_seconds: _Optional[int] = ..., system: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProcessingWithoutConsent(_message.Message):
    __slots__ = ("index", "token", "event", "problem", "consent_index", "requires_consent", "policy_index", "tree_size")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    CONSENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_CONSENT_FIELD_NUMBER: _ClassVar[int]
    POLICY_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    index: int
    token: bytes
    event: _event_pb2.Event
    problem: str
    consent_index: int
    requires_consent: str
    policy_index: int
    tree_size: int
    def __init__(self, index: _Optional[int] = ..., token: _Optional[bytes] = ..., event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., problem: _Optional[str] = ..., consent_index: _Optional[int] = ..., requires_consent: _Optional[str] = ..., policy_index: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...
