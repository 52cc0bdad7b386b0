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

class BreachCaseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREACH_CASE_STATE_UNSPECIFIED: _ClassVar[BreachCaseState]
    BREACH_CASE_STATE_OPEN: _ClassVar[BreachCaseState]
    BREACH_CASE_STATE_OVERDUE: _ClassVar[BreachCaseState]
    BREACH_CASE_STATE_NOTIFIED_ON_TIME: _ClassVar[BreachCaseState]
    BREACH_CASE_STATE_NOTIFIED_LATE: _ClassVar[BreachCaseState]
    BREACH_CASE_STATE_NO_AWARE_AT: _ClassVar[BreachCaseState]

class RequestCaseState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REQUEST_CASE_STATE_UNSPECIFIED: _ClassVar[RequestCaseState]
    REQUEST_CASE_STATE_OPEN: _ClassVar[RequestCaseState]
    REQUEST_CASE_STATE_OVERDUE: _ClassVar[RequestCaseState]
    REQUEST_CASE_STATE_ANSWERED: _ClassVar[RequestCaseState]
    REQUEST_CASE_STATE_REFUSED: _ClassVar[RequestCaseState]

class DataMapFlagKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_MAP_FLAG_KIND_UNSPECIFIED: _ClassVar[DataMapFlagKind]
    DATA_MAP_FLAG_KIND_UNDECLARED_SYSTEM: _ClassVar[DataMapFlagKind]
    DATA_MAP_FLAG_KIND_SILENT_SYSTEM: _ClassVar[DataMapFlagKind]
    DATA_MAP_FLAG_KIND_UNDECLARED_CATEGORY: _ClassVar[DataMapFlagKind]
    DATA_MAP_FLAG_KIND_UNDECLARED_RECIPIENT: _ClassVar[DataMapFlagKind]
BREACH_CASE_STATE_UNSPECIFIED: BreachCaseState
BREACH_CASE_STATE_OPEN: BreachCaseState
BREACH_CASE_STATE_OVERDUE: BreachCaseState
BREACH_CASE_STATE_NOTIFIED_ON_TIME: BreachCaseState
BREACH_CASE_STATE_NOTIFIED_LATE: BreachCaseState
BREACH_CASE_STATE_NO_AWARE_AT: BreachCaseState
REQUEST_CASE_STATE_UNSPECIFIED: RequestCaseState
REQUEST_CASE_STATE_OPEN: RequestCaseState
REQUEST_CASE_STATE_OVERDUE: RequestCaseState
REQUEST_CASE_STATE_ANSWERED: RequestCaseState
REQUEST_CASE_STATE_REFUSED: RequestCaseState
DATA_MAP_FLAG_KIND_UNSPECIFIED: DataMapFlagKind
DATA_MAP_FLAG_KIND_UNDECLARED_SYSTEM: DataMapFlagKind
DATA_MAP_FLAG_KIND_SILENT_SYSTEM: DataMapFlagKind
DATA_MAP_FLAG_KIND_UNDECLARED_CATEGORY: DataMapFlagKind
DATA_MAP_FLAG_KIND_UNDECLARED_RECIPIENT: DataMapFlagKind

class InvestigateBreachRequest(_message.Message):
    __slots__ = ("systems", "recipients", "data_categories", "to", "include_bundle", "summary_only")
    SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_ONLY_FIELD_NUMBER: _ClassVar[int]
    systems: _containers.RepeatedScalarFieldContainer[str]
    recipients: _containers.RepeatedScalarFieldContainer[str]
    data_categories: _containers.RepeatedScalarFieldContainer[str]
    to: _timestamp_pb2.Timestamp
    include_bundle: bool
    summary_only: bool
    def __init__(self, systems: _Optional[_Iterable[str]] = ..., recipients: _Optional[_Iterable[str]] = ..., data_categories: _Optional[_Iterable[str]] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., include_bundle: _Optional[bool] = ..., summary_only: _Optional[bool] = ..., **kwargs) -> None: ...

class InvestigateBreachChunk(_message.Message):
    __slots__ = ("progress", "entries", "summary")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    progress: BreachProgress
    entries: BreachEntries
    summary: BreachSummary
    def __init__(self, progress: _Optional[_Union[BreachProgress, _Mapping]] = ..., entries: _Optional[_Union[BreachEntries, _Mapping]] = ..., summary: _Optional[_Union[BreachSummary, _Mapping]] = ...) -> None: ...

class BreachProgress(_message.Message):
    __slots__ = ("examined", "candidates")
    EXAMINED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    examined: int
    candidates: int
    def __init__(self, examined: _Optional[int] = ..., candidates: _Optional[int] = ...) -> None: ...

class BreachEntries(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AffectedEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AffectedEntry, _Mapping]]] = ...) -> None: ...

class AffectedEntry(_message.Message):
    __slots__ = ("index", "subject_token", "kind", "occurred_at", "system", "data_categories", "recipient", "recipient_country", "amended")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    AMENDED_FIELD_NUMBER: _ClassVar[int]
    index: int
    subject_token: bytes
    kind: _event_pb2.EventKind
    occurred_at: _timestamp_pb2.Timestamp
    system: str
    data_categories: _containers.RepeatedScalarFieldContainer[str]
    recipient: str
    recipient_country: str
    amended: bool
    def __init__(self, index: _Optional[int] = ..., subject_token: _Optional[bytes] = ..., kind: _Optional[_Union[_event_pb2.EventKind, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., system: _Optional[str] = ..., data_categories: _Optional[_Iterable[str]] = ..., recipient: _Optional[str] = ..., recipient_country: _Optional[str] = ..., amended: _Optional[bool] = ...) -> None: ...

class BreachCount(_message.Message):
    __slots__ = ("name", "subjects", "records")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    subjects: int
    records: int
    def __init__(self, name: _Optional[str] = ..., subjects: _Optional[int] = ..., records: _Optional[int] = ...) -> None: ...

class ThirdCountryTransfer(_message.Message):
    __slots__ = ("recipient", "country", "transfer_basis", "subjects", "records")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_BASIS_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    recipient: str
    country: str
    transfer_basis: _event_pb2.TransferBasis
    subjects: int
    records: int
    def __init__(self, recipient: _Optional[str] = ..., country: _Optional[str] = ..., transfer_basis: _Optional[_Union[_event_pb2.TransferBasis, str]] = ..., subjects: _Optional[int] = ..., records: _Optional[int] = ...) -> None: ...

class BreachSummary(_message.Message):
    __slots__ = ("subjects", "records", "per_category", "per_system", "special_categories_involved", "special_categories", "third_country_transfers", "tree_size", "bundle_json", "access_entry_index")
    SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    PER_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PER_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    SPECIAL_CATEGORIES_INVOLVED_FIELD_NUMBER: _ClassVar[int]
    SPECIAL_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    THIRD_COUNTRY_TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    ACCESS_ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    subjects: int
    records: int
    per_category: _containers.RepeatedCompositeFieldContainer[BreachCount]
    per_system: _containers.RepeatedCompositeFieldContainer[BreachCount]
    special_categories_involved: bool
    special_categories: _containers.RepeatedScalarFieldContainer[str]
    third_country_transfers: _containers.RepeatedCompositeFieldContainer[ThirdCountryTransfer]
    tree_size: int
    bundle_json: str
    access_entry_index: int
    def __init__(self, subjects: _Optional[int] = ..., records: _Optional[int] = ..., per_category: _Optional[_Iterable[_Union[BreachCount, _Mapping]]] = ..., per_system: _Optional[_Iterable[_Union[BreachCount, _Mapping]]] = ..., special_categories_involved: _Optional[bool] = ..., special_categories: _Optional[_Iterable[str]] = ..., third_country_transfers: _Optional[_Iterable[_Union[ThirdCountryTransfer, _Mapping]]] = ..., tree_size: _Optional[int] = ..., bundle_json: _Optional[str] = ..., access_entry_index: _Optional[int] = ...) -> None: ...

class RecordsOfProcessingRequest(_message.Message):
    __slots__ = ("systems",)
    SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    systems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, systems: _Optional[_Iterable[str]] = ...) -> None: ...

class ProcessingRecord(_message.Message):
    __slots__ = ("system", "data_category", "purpose", "legal_basis", "recipient", "recipient_country", "transfer_basis", "special_category", "third_country", "records", "first_seen", "last_seen")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_BASIS_FIELD_NUMBER: _ClassVar[int]
    SPECIAL_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    THIRD_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    system: str
    data_category: str
    purpose: str
    legal_basis: str
    recipient: str
    recipient_country: str
    transfer_basis: _event_pb2.TransferBasis
    special_category: bool
    third_country: bool
    records: int
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    def __init__(self, system: _Optional[str] = ..., data_category: _Optional[str] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., recipient: _Optional[str] = ..., recipient_country: _Optional[str] = ..., transfer_basis: _Optional[_Union[_event_pb2.TransferBasis, str]] = ..., special_category: _Optional[bool] = ..., third_country: _Optional[bool] = ..., records: _Optional[int] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordsOfProcessingResponse(_message.Message):
    __slots__ = ("records", "tree_size", "declared_systems")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    DECLARED_SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[ProcessingRecord]
    tree_size: int
    declared_systems: _containers.RepeatedCompositeFieldContainer[DeclaredSystem]
    def __init__(self, records: _Optional[_Iterable[_Union[ProcessingRecord, _Mapping]]] = ..., tree_size: _Optional[int] = ..., declared_systems: _Optional[_Iterable[_Union[DeclaredSystem, _Mapping]]] = ...) -> None: ...

class DeclaredSystem(_message.Message):
    __slots__ = ("declaration", "index")
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    declaration: _event_pb2.SystemDeclaration
    index: int
    def __init__(self, declaration: _Optional[_Union[_event_pb2.SystemDeclaration, _Mapping]] = ..., index: _Optional[int] = ...) -> None: ...

class SubjectAccessReportRequest(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: _event_pb2.SubjectIdentifier
    def __init__(self, subject: _Optional[_Union[_event_pb2.SubjectIdentifier, _Mapping]] = ...) -> None: ...

class SubjectAccessReportResponse(_message.Message):
    __slots__ = ("subject_token", "report_json", "report_text", "access_entry_index")
    SUBJECT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    REPORT_TEXT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    subject_token: bytes
    report_json: str
    report_text: str
    access_entry_index: int
    def __init__(self, subject_token: _Optional[bytes] = ..., report_json: _Optional[str] = ..., report_text: _Optional[str] = ..., access_entry_index: _Optional[int] = ...) -> None: ...

class GetBreachCaseRequest(_message.Message):
    __slots__ = ("breach_ref", "as_of", "include_bundle")
    BREACH_REF_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BUNDLE_FIELD_NUMBER: _ClassVar[int]
    breach_ref: str
    as_of: _timestamp_pb2.Timestamp
    include_bundle: bool
    def __init__(self, breach_ref: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., include_bundle: _Optional[bool] = ...) -> None: ...

class CaseAuthorityNotification(_message.Message):
    __slots__ = ("index", "notification")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    index: int
    notification: _event_pb2.BreachNotification
    def __init__(self, index: _Optional[int] = ..., notification: _Optional[_Union[_event_pb2.BreachNotification, _Mapping]] = ...) -> None: ...

class CaseSubjectsNotification(_message.Message):
    __slots__ = ("index", "notification")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    index: int
    notification: _event_pb2.SubjectsNotification
    def __init__(self, index: _Optional[int] = ..., notification: _Optional[_Union[_event_pb2.SubjectsNotification, _Mapping]] = ...) -> None: ...

class BreachCase(_message.Message):
    __slots__ = ("breach_ref", "aware_at", "deadline", "state", "as_of", "seconds_left", "seconds_late", "notified_at", "authority_notifications", "subjects_notifications", "reasons_for_delay", "late_without_reasons", "systems", "window_from", "window_to", "entry_indexes")
    BREACH_REF_FIELD_NUMBER: _ClassVar[int]
    AWARE_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SECONDS_LEFT_FIELD_NUMBER: _ClassVar[int]
    SECONDS_LATE_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FOR_DELAY_FIELD_NUMBER: _ClassVar[int]
    LATE_WITHOUT_REASONS_FIELD_NUMBER: _ClassVar[int]
    SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FROM_FIELD_NUMBER: _ClassVar[int]
    WINDOW_TO_FIELD_NUMBER: _ClassVar[int]
    ENTRY_INDEXES_FIELD_NUMBER: _ClassVar[int]
    breach_ref: str
    aware_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    state: BreachCaseState
    as_of: _timestamp_pb2.Timestamp
    seconds_left: int
    seconds_late: int
    notified_at: _timestamp_pb2.Timestamp
    authority_notifications: _containers.RepeatedCompositeFieldContainer[CaseAuthorityNotification]
    subjects_notifications: _containers.RepeatedCompositeFieldContainer[CaseSubjectsNotification]
    reasons_for_delay: _containers.RepeatedScalarFieldContainer[str]
    late_without_reasons: bool
    systems: _containers.RepeatedScalarFieldContainer[str]
    window_from: _timestamp_pb2.Timestamp
    window_to: _timestamp_pb2.Timestamp
    entry_indexes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, breach_ref: _Optional[str] = ..., aware_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[BreachCaseState, str]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seconds_left: _Optional[int] = ..., seconds_late: _Optional[int] = ..., notified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., authority_notifications: _Optional[_Iterable[_Union[CaseAuthorityNotification, _Mapping]]] = ..., subjects_notifications: _Optional[_Iterable[_Union[CaseSubjectsNotification, _Mapping]]] = ..., reasons_for_delay: _Optional[_Iterable[str]] = ..., late_without_reasons: _Optional[bool] = ..., systems: _Optional[_Iterable[str]] = ..., window_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., entry_indexes: _Optional[_Iterable[int]] = ...) -> None: ...

class BreachNotificationDraft(_message.Message):
    __slots__ = ("nature", "subject_categories", "approximate_subjects", "data_categories", "approximate_records", "counts", "dpo_contact", "likely_consequences", "measures", "reasons_for_delay", "missing", "controller")
    NATURE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    APPROXIMATE_SUBJECTS_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    APPROXIMATE_RECORDS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    DPO_CONTACT_FIELD_NUMBER: _ClassVar[int]
    LIKELY_CONSEQUENCES_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FOR_DELAY_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_FIELD_NUMBER: _ClassVar[int]
    nature: str
    subject_categories: _containers.RepeatedScalarFieldContainer[str]
    approximate_subjects: int
    data_categories: _containers.RepeatedScalarFieldContainer[str]
    approximate_records: int
    counts: BreachSummary
    dpo_contact: str
    likely_consequences: str
    measures: str
    reasons_for_delay: _containers.RepeatedScalarFieldContainer[str]
    missing: _containers.RepeatedScalarFieldContainer[str]
    controller: str
    def __init__(self, nature: _Optional[str] = ..., subject_categories: _Optional[_Iterable[str]] = ..., approximate_subjects: _Optional[int] = ..., data_categories: _Optional[_Iterable[str]] = ..., approximate_records: _Optional[int] = ..., counts: _Optional[_Union[BreachSummary, _Mapping]] = ..., dpo_contact: _Optional[str] = ..., likely_consequences: _Optional[str] = ..., measures: _Optional[str] = ..., reasons_for_delay: _Optional[_Iterable[str]] = ..., missing: _Optional[_Iterable[str]] = ..., controller: _Optional[str] = ...) -> None: ...

class GetBreachCaseResponse(_message.Message):
    __slots__ = ("breach_case", "draft", "tree_size", "relied_on", "bundle_json", "access_entry_index")
    BREACH_CASE_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    RELIED_ON_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_JSON_FIELD_NUMBER: _ClassVar[int]
    ACCESS_ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    breach_case: BreachCase
    draft: BreachNotificationDraft
    tree_size: int
    relied_on: _containers.RepeatedScalarFieldContainer[int]
    bundle_json: str
    access_entry_index: int
    def __init__(self, breach_case: _Optional[_Union[BreachCase, _Mapping]] = ..., draft: _Optional[_Union[BreachNotificationDraft, _Mapping]] = ..., tree_size: _Optional[int] = ..., relied_on: _Optional[_Iterable[int]] = ..., bundle_json: _Optional[str] = ..., access_entry_index: _Optional[int] = ...) -> None: ...

class ListBreachCasesRequest(_message.Message):
    __slots__ = ("as_of", "open_only", "after", "limit")
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    OPEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    open_only: bool
    after: str
    limit: int
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., open_only: _Optional[bool] = ..., after: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListBreachCasesResponse(_message.Message):
    __slots__ = ("cases", "next_after", "tree_size")
    CASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[BreachCase]
    next_after: str
    tree_size: int
    def __init__(self, cases: _Optional[_Iterable[_Union[BreachCase, _Mapping]]] = ..., next_after: _Optional[str] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetRequestCaseRequest(_message.Message):
    __slots__ = ("request_ref", "as_of")
    REQUEST_REF_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    request_ref: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, request_ref: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequestCase(_message.Message):
    __slots__ = ("request_ref", "right", "channel", "system", "received_at", "time_zone", "policy_index", "received_on", "original_due_on", "due_on", "due_end", "extension_months", "extension_told_late", "state", "responded_at", "responded_late", "refusal_ground", "entry_indexes", "as_of")
    REQUEST_REF_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    POLICY_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_ON_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_DUE_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_END_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_MONTHS_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_TOLD_LATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_AT_FIELD_NUMBER: _ClassVar[int]
    RESPONDED_LATE_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_GROUND_FIELD_NUMBER: _ClassVar[int]
    ENTRY_INDEXES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    request_ref: str
    right: _event_pb2.DataSubjectRight
    channel: str
    system: str
    received_at: _timestamp_pb2.Timestamp
    time_zone: str
    policy_index: int
    received_on: str
    original_due_on: str
    due_on: str
    due_end: _timestamp_pb2.Timestamp
    extension_months: int
    extension_told_late: bool
    state: RequestCaseState
    responded_at: _timestamp_pb2.Timestamp
    responded_late: bool
    refusal_ground: str
    entry_indexes: _containers.RepeatedScalarFieldContainer[int]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, request_ref: _Optional[str] = ..., right: _Optional[_Union[_event_pb2.DataSubjectRight, str]] = ..., channel: _Optional[str] = ..., system: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., policy_index: _Optional[int] = ..., received_on: _Optional[str] = ..., original_due_on: _Optional[str] = ..., due_on: _Optional[str] = ..., due_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., extension_months: _Optional[int] = ..., extension_told_late: _Optional[bool] = ..., state: _Optional[_Union[RequestCaseState, str]] = ..., responded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., responded_late: _Optional[bool] = ..., refusal_ground: _Optional[str] = ..., entry_indexes: _Optional[_Iterable[int]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRequestCaseResponse(_message.Message):
    __slots__ = ("request_case", "tree_size")
    REQUEST_CASE_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    request_case: RequestCase
    tree_size: int
    def __init__(self, request_case: _Optional[_Union[RequestCase, _Mapping]] = ..., tree_size: _Optional[int] = ...) -> None: ...

class ListOverdueRequestsRequest(_message.Message):
    __slots__ = ("as_of", "include_open", "after", "limit")
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OPEN_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    include_open: bool
    after: str
    limit: int
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., include_open: _Optional[bool] = ..., after: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListOverdueRequestsResponse(_message.Message):
    __slots__ = ("cases", "next_after", "tree_size")
    CASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[RequestCase]
    next_after: str
    tree_size: int
    def __init__(self, cases: _Optional[_Iterable[_Union[RequestCase, _Mapping]]] = ..., next_after: _Optional[str] = ..., tree_size: _Optional[int] = ...) -> None: ...

class ListRetentionOverdueRequest(_message.Message):
    __slots__ = ("as_of", "after", "limit")
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    after: str
    limit: int
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., after: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class RetentionOverdueItem(_message.Message):
    __slots__ = ("subject", "holder", "data_category", "purpose", "deadline", "last_arrival_index", "last_arrival_at", "relationship_ended_index", "relationship_ended_at", "rule", "exemption_ended_index")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HOLDER_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    LAST_ARRIVAL_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAST_ARRIVAL_AT_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_ENDED_INDEX_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    EXEMPTION_ENDED_INDEX_FIELD_NUMBER: _ClassVar[int]
    subject: str
    holder: str
    data_category: str
    purpose: str
    deadline: str
    last_arrival_index: int
    last_arrival_at: _timestamp_pb2.Timestamp
    relationship_ended_index: int
    relationship_ended_at: _timestamp_pb2.Timestamp
    rule: int
    exemption_ended_index: int
    def __init__(self, subject: _Optional[str] = ..., holder: _Optional[str] = ..., data_category: _Optional[str] = ..., purpose: _Optional[str] = ..., deadline: _Optional[str] = ..., last_arrival_index: _Optional[int] = ..., last_arrival_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., relationship_ended_index: _Optional[int] = ..., relationship_ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rule: _Optional[int] = ..., exemption_ended_index: _Optional[int] = ...) -> None: ...

class ListRetentionOverdueResponse(_message.Message):
    __slots__ = ("items", "next_after", "tree_size", "policy_index", "has_policy")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    POLICY_INDEX_FIELD_NUMBER: _ClassVar[int]
    HAS_POLICY_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RetentionOverdueItem]
    next_after: str
    tree_size: int
    policy_index: int
    has_policy: bool
    def __init__(self, items: _Optional[_Iterable[_Union[RetentionOverdueItem, _Mapping]]] = ..., next_after: _Optional[str] = ..., tree_size: _Optional[int] = ..., policy_index: _Optional[int] = ..., has_policy: _Optional[bool] = ...) -> None: ...

class DataMapRequest(_message.Message):
    __slots__ = ("as_of", "silent_after_days")
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SILENT_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    silent_after_days: int
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., silent_after_days: _Optional[int] = ...) -> None: ...

class DataMapSeen(_message.Message):
    __slots__ = ("entries", "first_seen", "first_index", "last_seen", "last_index")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    FIRST_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEX_FIELD_NUMBER: _ClassVar[int]
    entries: int
    first_seen: _timestamp_pb2.Timestamp
    first_index: int
    last_seen: _timestamp_pb2.Timestamp
    last_index: int
    def __init__(self, entries: _Optional[int] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_index: _Optional[int] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_index: _Optional[int] = ...) -> None: ...

class DataMapSystem(_message.Message):
    __slots__ = ("name", "declared", "declared_index", "declared_since", "observed", "observed_categories")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DECLARED_FIELD_NUMBER: _ClassVar[int]
    DECLARED_INDEX_FIELD_NUMBER: _ClassVar[int]
    DECLARED_SINCE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    declared: _event_pb2.SystemDeclaration
    declared_index: int
    declared_since: _timestamp_pb2.Timestamp
    observed: DataMapSeen
    observed_categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., declared: _Optional[_Union[_event_pb2.SystemDeclaration, _Mapping]] = ..., declared_index: _Optional[int] = ..., declared_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., observed: _Optional[_Union[DataMapSeen, _Mapping]] = ..., observed_categories: _Optional[_Iterable[str]] = ...) -> None: ...

class DataMapCollectionFlow(_message.Message):
    __slots__ = ("channel", "system", "seen")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    SEEN_FIELD_NUMBER: _ClassVar[int]
    channel: str
    system: str
    seen: DataMapSeen
    def __init__(self, channel: _Optional[str] = ..., system: _Optional[str] = ..., seen: _Optional[_Union[DataMapSeen, _Mapping]] = ...) -> None: ...

class DataMapShareFlow(_message.Message):
    __slots__ = ("system", "recipient", "role", "country", "third_country", "seen")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    THIRD_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    SEEN_FIELD_NUMBER: _ClassVar[int]
    system: str
    recipient: str
    role: _event_pb2.RecipientRole
    country: str
    third_country: bool
    seen: DataMapSeen
    def __init__(self, system: _Optional[str] = ..., recipient: _Optional[str] = ..., role: _Optional[_Union[_event_pb2.RecipientRole, str]] = ..., country: _Optional[str] = ..., third_country: _Optional[bool] = ..., seen: _Optional[_Union[DataMapSeen, _Mapping]] = ...) -> None: ...

class DataMapFlag(_message.Message):
    __slots__ = ("kind", "system", "value", "seen")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SEEN_FIELD_NUMBER: _ClassVar[int]
    kind: DataMapFlagKind
    system: str
    value: str
    seen: DataMapSeen
    def __init__(self, kind: _Optional[_Union[DataMapFlagKind, str]] = ..., system: _Optional[str] = ..., value: _Optional[str] = ..., seen: _Optional[_Union[DataMapSeen, _Mapping]] = ...) -> None: ...

class DataMapResponse(_message.Message):
    __slots__ = ("systems", "collections", "shares", "flags", "tree_size", "as_of", "silent_after_days")
    SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SILENT_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    systems: _containers.RepeatedCompositeFieldContainer[DataMapSystem]
    collections: _containers.RepeatedCompositeFieldContainer[DataMapCollectionFlow]
    shares: _containers.RepeatedCompositeFieldContainer[DataMapShareFlow]
    flags: _containers.RepeatedCompositeFieldContainer[DataMapFlag]
    tree_size: int
    as_of: _timestamp_pb2.Timestamp
    silent_after_days: int
    def __init__(self, systems: _Optional[_Iterable[_Union[DataMapSystem, _Mapping]]] = ..., collections: _Optional[_Iterable[_Union[DataMapCollectionFlow, _Mapping]]] = ..., shares: _Optional[_Iterable[_Union[DataMapShareFlow, _Mapping]]] = ..., flags: _Optional[_Iterable[_Union[DataMapFlag, _Mapping]]] = ..., tree_size: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., silent_after_days: _Optional[int] = ...) -> None: ...
