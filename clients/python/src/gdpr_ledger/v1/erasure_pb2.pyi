import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from gdpr_ledger.v1 import event_pb2 as _event_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubjectRef(_message.Message):
    __slots__ = ("identifier", "token")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    identifier: _event_pb2.SubjectIdentifier
    token: bytes
    def __init__(self, identifier: _Optional[_Union[_event_pb2.SubjectIdentifier, _Mapping]] = ..., token: _Optional[bytes] = ...) -> None: ...

class EraseSubjectRequest(_message.Message):
    __slots__ = ("subject", "system", "event_id")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    subject: _event_pb2.SubjectIdentifier
    system: str
    event_id: str
    def __init__(self, subject: _Optional[_Union[_event_pb2.SubjectIdentifier, _Mapping]] = ..., system: _Optional[str] = ..., event_id: _Optional[str] = ...) -> None: ...

class CloseErasureRequest(_message.Message):
    __slots__ = ("subject", "reason")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    subject: SubjectRef
    reason: str
    def __init__(self, subject: _Optional[_Union[SubjectRef, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class GetErasureStatusRequest(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: SubjectRef
    def __init__(self, subject: _Optional[_Union[SubjectRef, _Mapping]] = ...) -> None: ...

class ListOpenErasuresRequest(_message.Message):
    __slots__ = ("older_than_days",)
    OLDER_THAN_DAYS_FIELD_NUMBER: _ClassVar[int]
    older_than_days: int
    def __init__(self, older_than_days: _Optional[int] = ...) -> None: ...

class ListOpenErasuresResponse(_message.Message):
    __slots__ = ("cases",)
    CASES_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[ErasureStatus]
    def __init__(self, cases: _Optional[_Iterable[_Union[ErasureStatus, _Mapping]]] = ...) -> None: ...

class Holder(_message.Message):
    __slots__ = ("name", "recipient", "role", "country", "first_index", "last_index", "notified_index", "notified_at", "confirmed_index", "confirmed_at", "exemption_index", "exemption_ground", "exempt_until", "exemption_reason", "pending")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    FIRST_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEX_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_INDEX_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_AT_FIELD_NUMBER: _ClassVar[int]
    EXEMPTION_INDEX_FIELD_NUMBER: _ClassVar[int]
    EXEMPTION_GROUND_FIELD_NUMBER: _ClassVar[int]
    EXEMPT_UNTIL_FIELD_NUMBER: _ClassVar[int]
    EXEMPTION_REASON_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    name: str
    recipient: bool
    role: _event_pb2.RecipientRole
    country: str
    first_index: int
    last_index: int
    notified_index: int
    notified_at: _timestamp_pb2.Timestamp
    confirmed_index: int
    confirmed_at: _timestamp_pb2.Timestamp
    exemption_index: int
    exemption_ground: str
    exempt_until: _timestamp_pb2.Timestamp
    exemption_reason: str
    pending: bool
    def __init__(self, name: _Optional[str] = ..., recipient: _Optional[bool] = ..., role: _Optional[_Union[_event_pb2.RecipientRole, str]] = ..., country: _Optional[str] = ..., first_index: _Optional[int] = ..., last_index: _Optional[int] = ..., notified_index: _Optional[int] = ..., notified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., confirmed_index: _Optional[int] = ..., confirmed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exemption_index: _Optional[int] = ..., exemption_ground: _Optional[str] = ..., exempt_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exemption_reason: _Optional[str] = ..., pending: _Optional[bool] = ...) -> None: ...

class ErasureStatus(_message.Message):
    __slots__ = ("token", "state", "request_index", "requested_at", "requested_by", "closed_at", "closed_by", "close_reason", "purged", "holders", "pending")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ErasureStatus.State]
        STATE_NONE: _ClassVar[ErasureStatus.State]
        STATE_OPEN: _ClassVar[ErasureStatus.State]
        STATE_CLOSED: _ClassVar[ErasureStatus.State]
    STATE_UNSPECIFIED: ErasureStatus.State
    STATE_NONE: ErasureStatus.State
    STATE_OPEN: ErasureStatus.State
    STATE_CLOSED: ErasureStatus.State
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_INDEX_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    CLOSE_REASON_FIELD_NUMBER: _ClassVar[int]
    PURGED_FIELD_NUMBER: _ClassVar[int]
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    token: bytes
    state: ErasureStatus.State
    request_index: int
    requested_at: _timestamp_pb2.Timestamp
    requested_by: str
    closed_at: _timestamp_pb2.Timestamp
    closed_by: str
    close_reason: str
    purged: bool
    holders: _containers.RepeatedCompositeFieldContainer[Holder]
    pending: int
    def __init__(self, token: _Optional[bytes] = ..., state: _Optional[_Union[ErasureStatus.State, str]] = ..., request_index: _Optional[int] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requested_by: _Optional[str] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_by: _Optional[str] = ..., close_reason: _Optional[str] = ..., purged: _Optional[bool] = ..., holders: _Optional[_Iterable[_Union[Holder, _Mapping]]] = ..., pending: _Optional[int] = ...) -> None: ...

class GetDetailsRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class GetDetailsResponse(_message.Message):
    __slots__ = ("details", "none", "erased")
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    NONE_FIELD_NUMBER: _ClassVar[int]
    ERASED_FIELD_NUMBER: _ClassVar[int]
    details: bytes
    none: bool
    erased: bool
    def __init__(self, details: _Optional[bytes] = ..., none: _Optional[bool] = ..., erased: _Optional[bool] = ...) -> None: ...

class GetIdentifiersRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: bytes
    def __init__(self, token: _Optional[bytes] = ...) -> None: ...

class GetIdentifiersResponse(_message.Message):
    __slots__ = ("identifiers", "erased")
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    ERASED_FIELD_NUMBER: _ClassVar[int]
    identifiers: _containers.RepeatedCompositeFieldContainer[_event_pb2.SubjectIdentifier]
    erased: bool
    def __init__(self, identifiers: _Optional[_Iterable[_Union[_event_pb2.SubjectIdentifier, _Mapping]]] = ..., erased: _Optional[bool] = ...) -> None: ...
