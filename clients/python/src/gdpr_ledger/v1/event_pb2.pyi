import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_COLLECTION: _ClassVar[EventKind]
    EVENT_KIND_SHARE: _ClassVar[EventKind]
    EVENT_KIND_ACCESS: _ClassVar[EventKind]
    EVENT_KIND_RECTIFICATION: _ClassVar[EventKind]
    EVENT_KIND_RESTRICTION: _ClassVar[EventKind]
    EVENT_KIND_OBJECTION: _ClassVar[EventKind]
    EVENT_KIND_EXPORT: _ClassVar[EventKind]
    EVENT_KIND_CONSENT_GIVEN: _ClassVar[EventKind]
    EVENT_KIND_CONSENT_WITHDRAWN: _ClassVar[EventKind]
    EVENT_KIND_ERASURE_REQUESTED: _ClassVar[EventKind]
    EVENT_KIND_DELETION_DONE: _ClassVar[EventKind]
    EVENT_KIND_RETENTION_EXPIRED: _ClassVar[EventKind]
    EVENT_KIND_BREACH: _ClassVar[EventKind]
    EVENT_KIND_IDENTITY_LINK: _ClassVar[EventKind]
    EVENT_KIND_CORRECTION: _ClassVar[EventKind]
    EVENT_KIND_ERASURE_EXEMPTED: _ClassVar[EventKind]
    EVENT_KIND_BREACH_NOTIFIED: _ClassVar[EventKind]
    EVENT_KIND_SUBJECTS_NOTIFIED: _ClassVar[EventKind]
    EVENT_KIND_CONTROLLER_DECLARED: _ClassVar[EventKind]
    EVENT_KIND_REQUEST_RECEIVED: _ClassVar[EventKind]
    EVENT_KIND_REQUEST_EXTENDED: _ClassVar[EventKind]
    EVENT_KIND_REQUEST_ANSWERED: _ClassVar[EventKind]
    EVENT_KIND_REQUEST_REFUSED: _ClassVar[EventKind]
    EVENT_KIND_REQUEST_POLICY_DECLARED: _ClassVar[EventKind]
    EVENT_KIND_CONSENT_POLICY_DECLARED: _ClassVar[EventKind]
    EVENT_KIND_RETENTION_POLICY_DECLARED: _ClassVar[EventKind]
    EVENT_KIND_RELATIONSHIP_ENDED: _ClassVar[EventKind]
    EVENT_KIND_SYSTEM_DECLARED: _ClassVar[EventKind]

class DataSubjectRight(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_SUBJECT_RIGHT_UNSPECIFIED: _ClassVar[DataSubjectRight]
    DATA_SUBJECT_RIGHT_ACCESS: _ClassVar[DataSubjectRight]
    DATA_SUBJECT_RIGHT_RECTIFICATION: _ClassVar[DataSubjectRight]
    DATA_SUBJECT_RIGHT_ERASURE: _ClassVar[DataSubjectRight]
    DATA_SUBJECT_RIGHT_RESTRICTION: _ClassVar[DataSubjectRight]
    DATA_SUBJECT_RIGHT_PORTABILITY: _ClassVar[DataSubjectRight]
    DATA_SUBJECT_RIGHT_OBJECTION: _ClassVar[DataSubjectRight]

class RecipientRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECIPIENT_ROLE_UNSPECIFIED: _ClassVar[RecipientRole]
    RECIPIENT_ROLE_PROCESSOR: _ClassVar[RecipientRole]
    RECIPIENT_ROLE_SUB_PROCESSOR: _ClassVar[RecipientRole]
    RECIPIENT_ROLE_CONTROLLER: _ClassVar[RecipientRole]
    RECIPIENT_ROLE_JOINT_CONTROLLER: _ClassVar[RecipientRole]
    RECIPIENT_ROLE_CHANNEL_PARTNER: _ClassVar[RecipientRole]
    RECIPIENT_ROLE_THIRD_PARTY: _ClassVar[RecipientRole]

class TransferBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_BASIS_UNSPECIFIED: _ClassVar[TransferBasis]
    TRANSFER_BASIS_ADEQUACY_DECISION: _ClassVar[TransferBasis]
    TRANSFER_BASIS_STANDARD_CONTRACTUAL_CLAUSES: _ClassVar[TransferBasis]
    TRANSFER_BASIS_BINDING_CORPORATE_RULES: _ClassVar[TransferBasis]
    TRANSFER_BASIS_CODE_OF_CONDUCT: _ClassVar[TransferBasis]
    TRANSFER_BASIS_CERTIFICATION: _ClassVar[TransferBasis]
    TRANSFER_BASIS_DEROGATION: _ClassVar[TransferBasis]

class DeletionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELETION_METHOD_UNSPECIFIED: _ClassVar[DeletionMethod]
    DELETION_METHOD_DELETE: _ClassVar[DeletionMethod]
    DELETION_METHOD_ERASE: _ClassVar[DeletionMethod]
    DELETION_METHOD_DESTRUCT: _ClassVar[DeletionMethod]

class CorrectionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CORRECTION_ACTION_UNSPECIFIED: _ClassVar[CorrectionAction]
    CORRECTION_ACTION_RETRACT: _ClassVar[CorrectionAction]
    CORRECTION_ACTION_AMEND: _ClassVar[CorrectionAction]

class RetentionTrigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETENTION_TRIGGER_UNSPECIFIED: _ClassVar[RetentionTrigger]
    RETENTION_TRIGGER_LAST_COLLECTION: _ClassVar[RetentionTrigger]
    RETENTION_TRIGGER_RELATIONSHIP_ENDED: _ClassVar[RetentionTrigger]
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_COLLECTION: EventKind
EVENT_KIND_SHARE: EventKind
EVENT_KIND_ACCESS: EventKind
EVENT_KIND_RECTIFICATION: EventKind
EVENT_KIND_RESTRICTION: EventKind
EVENT_KIND_OBJECTION: EventKind
EVENT_KIND_EXPORT: EventKind
EVENT_KIND_CONSENT_GIVEN: EventKind
EVENT_KIND_CONSENT_WITHDRAWN: EventKind
EVENT_KIND_ERASURE_REQUESTED: EventKind
EVENT_KIND_DELETION_DONE: EventKind
EVENT_KIND_RETENTION_EXPIRED: EventKind
EVENT_KIND_BREACH: EventKind
EVENT_KIND_IDENTITY_LINK: EventKind
EVENT_KIND_CORRECTION: EventKind
EVENT_KIND_ERASURE_EXEMPTED: EventKind
EVENT_KIND_BREACH_NOTIFIED: EventKind
EVENT_KIND_SUBJECTS_NOTIFIED: EventKind
EVENT_KIND_CONTROLLER_DECLARED: EventKind
EVENT_KIND_REQUEST_RECEIVED: EventKind
EVENT_KIND_REQUEST_EXTENDED: EventKind
EVENT_KIND_REQUEST_ANSWERED: EventKind
EVENT_KIND_REQUEST_REFUSED: EventKind
EVENT_KIND_REQUEST_POLICY_DECLARED: EventKind
EVENT_KIND_CONSENT_POLICY_DECLARED: EventKind
EVENT_KIND_RETENTION_POLICY_DECLARED: EventKind
EVENT_KIND_RELATIONSHIP_ENDED: EventKind
EVENT_KIND_SYSTEM_DECLARED: EventKind
DATA_SUBJECT_RIGHT_UNSPECIFIED: DataSubjectRight
DATA_SUBJECT_RIGHT_ACCESS: DataSubjectRight
DATA_SUBJECT_RIGHT_RECTIFICATION: DataSubjectRight
DATA_SUBJECT_RIGHT_ERASURE: DataSubjectRight
DATA_SUBJECT_RIGHT_RESTRICTION: DataSubjectRight
DATA_SUBJECT_RIGHT_PORTABILITY: DataSubjectRight
DATA_SUBJECT_RIGHT_OBJECTION: DataSubjectRight
RECIPIENT_ROLE_UNSPECIFIED: RecipientRole
RECIPIENT_ROLE_PROCESSOR: RecipientRole
RECIPIENT_ROLE_SUB_PROCESSOR: RecipientRole
RECIPIENT_ROLE_CONTROLLER: RecipientRole
RECIPIENT_ROLE_JOINT_CONTROLLER: RecipientRole
RECIPIENT_ROLE_CHANNEL_PARTNER: RecipientRole
RECIPIENT_ROLE_THIRD_PARTY: RecipientRole
TRANSFER_BASIS_UNSPECIFIED: TransferBasis
TRANSFER_BASIS_ADEQUACY_DECISION: TransferBasis
TRANSFER_BASIS_STANDARD_CONTRACTUAL_CLAUSES: TransferBasis
TRANSFER_BASIS_BINDING_CORPORATE_RULES: TransferBasis
TRANSFER_BASIS_CODE_OF_CONDUCT: TransferBasis
TRANSFER_BASIS_CERTIFICATION: TransferBasis
TRANSFER_BASIS_DEROGATION: TransferBasis
DELETION_METHOD_UNSPECIFIED: DeletionMethod
DELETION_METHOD_DELETE: DeletionMethod
DELETION_METHOD_ERASE: DeletionMethod
DELETION_METHOD_DESTRUCT: DeletionMethod
CORRECTION_ACTION_UNSPECIFIED: CorrectionAction
CORRECTION_ACTION_RETRACT: CorrectionAction
CORRECTION_ACTION_AMEND: CorrectionAction
RETENTION_TRIGGER_UNSPECIFIED: RetentionTrigger
RETENTION_TRIGGER_LAST_COLLECTION: RetentionTrigger
RETENTION_TRIGGER_RELATIONSHIP_ENDED: RetentionTrigger

class Recipient(_message.Message):
    __slots__ = ("name", "role", "country", "transfer_basis")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_BASIS_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: RecipientRole
    country: str
    transfer_basis: TransferBasis
    def __init__(self, name: _Optional[str] = ..., role: _Optional[_Union[RecipientRole, str]] = ..., country: _Optional[str] = ..., transfer_basis: _Optional[_Union[TransferBasis, str]] = ...) -> None: ...

class Correction(_message.Message):
    __slots__ = ("target_index", "action", "reason")
    TARGET_INDEX_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    target_index: int
    action: CorrectionAction
    reason: str
    def __init__(self, target_index: _Optional[int] = ..., action: _Optional[_Union[CorrectionAction, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class Exemption(_message.Message):
    __slots__ = ("legal_ground", "until", "reason")
    LEGAL_GROUND_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    legal_ground: str
    until: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, legal_ground: _Optional[str] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class BreachDetails(_message.Message):
    __slots__ = ("aware_at", "nature", "likely_consequences", "measures", "window_from", "window_to", "subject_categories")
    AWARE_AT_FIELD_NUMBER: _ClassVar[int]
    NATURE_FIELD_NUMBER: _ClassVar[int]
    LIKELY_CONSEQUENCES_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FROM_FIELD_NUMBER: _ClassVar[int]
    WINDOW_TO_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    aware_at: _timestamp_pb2.Timestamp
    nature: str
    likely_consequences: str
    measures: str
    window_from: _timestamp_pb2.Timestamp
    window_to: _timestamp_pb2.Timestamp
    subject_categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, aware_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nature: _Optional[str] = ..., likely_consequences: _Optional[str] = ..., measures: _Optional[str] = ..., window_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., subject_categories: _Optional[_Iterable[str]] = ...) -> None: ...

class BreachNotification(_message.Message):
    __slots__ = ("authority", "notified_at", "reference", "reasons_for_delay")
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FOR_DELAY_FIELD_NUMBER: _ClassVar[int]
    authority: str
    notified_at: _timestamp_pb2.Timestamp
    reference: str
    reasons_for_delay: str
    def __init__(self, authority: _Optional[str] = ..., notified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., reasons_for_delay: _Optional[str] = ...) -> None: ...

class SubjectsNotification(_message.Message):
    __slots__ = ("notified_at", "not_notified_ground", "reason")
    NOTIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    NOT_NOTIFIED_GROUND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    notified_at: _timestamp_pb2.Timestamp
    not_notified_ground: str
    reason: str
    def __init__(self, notified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_notified_ground: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ControllerDeclaration(_message.Message):
    __slots__ = ("name", "dpo_contact", "effective_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DPO_CONTACT_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    dpo_contact: str
    effective_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., dpo_contact: _Optional[str] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DataSubjectRequest(_message.Message):
    __slots__ = ("right", "channel", "received_at")
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    right: DataSubjectRight
    channel: str
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, right: _Optional[_Union[DataSubjectRight, str]] = ..., channel: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequestExtension(_message.Message):
    __slots__ = ("months", "reason", "subject_told_at")
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_TOLD_AT_FIELD_NUMBER: _ClassVar[int]
    months: int
    reason: str
    subject_told_at: _timestamp_pb2.Timestamp
    def __init__(self, months: _Optional[int] = ..., reason: _Optional[str] = ..., subject_told_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequestResponse(_message.Message):
    __slots__ = ("responded_at", "refusal_ground", "reason")
    RESPONDED_AT_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_GROUND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    responded_at: _timestamp_pb2.Timestamp
    refusal_ground: str
    reason: str
    def __init__(self, responded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refusal_ground: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RequestPolicy(_message.Message):
    __slots__ = ("time_zone", "public_holidays", "effective_at")
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_HOLIDAYS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    time_zone: str
    public_holidays: _containers.RepeatedScalarFieldContainer[str]
    effective_at: _timestamp_pb2.Timestamp
    def __init__(self, time_zone: _Optional[str] = ..., public_holidays: _Optional[_Iterable[str]] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OptInRule(_message.Message):
    __slots__ = ("channels", "purposes")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedScalarFieldContainer[str]
    purposes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channels: _Optional[_Iterable[str]] = ..., purposes: _Optional[_Iterable[str]] = ...) -> None: ...

class OptInPolicy(_message.Message):
    __slots__ = ("rules", "effective_at")
    RULES_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[OptInRule]
    effective_at: _timestamp_pb2.Timestamp
    def __init__(self, rules: _Optional[_Iterable[_Union[OptInRule, _Mapping]]] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RetentionRule(_message.Message):
    __slots__ = ("system", "data_category", "purpose", "days", "months", "trigger")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    system: str
    data_category: str
    purpose: str
    days: int
    months: int
    trigger: RetentionTrigger
    def __init__(self, system: _Optional[str] = ..., data_category: _Optional[str] = ..., purpose: _Optional[str] = ..., days: _Optional[int] = ..., months: _Optional[int] = ..., trigger: _Optional[_Union[RetentionTrigger, str]] = ...) -> None: ...

class RetentionPolicy(_message.Message):
    __slots__ = ("rules", "effective_at")
    RULES_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[RetentionRule]
    effective_at: _timestamp_pb2.Timestamp
    def __init__(self, rules: _Optional[_Iterable[_Union[RetentionRule, _Mapping]]] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SystemDeclaration(_message.Message):
    __slots__ = ("name", "owner", "country", "data_categories", "purposes", "recipients", "subject_categories", "retention", "security_measures", "effective_at", "withdrawn")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    SECURITY_MEASURES_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    name: str
    owner: str
    country: str
    data_categories: _containers.RepeatedScalarFieldContainer[str]
    purposes: _containers.RepeatedScalarFieldContainer[str]
    recipients: _containers.RepeatedScalarFieldContainer[str]
    subject_categories: _containers.RepeatedScalarFieldContainer[str]
    retention: str
    security_measures: str
    effective_at: _timestamp_pb2.Timestamp
    withdrawn: bool
    def __init__(self, name: _Optional[str] = ..., owner: _Optional[str] = ..., country: _Optional[str] = ..., data_categories: _Optional[_Iterable[str]] = ..., purposes: _Optional[_Iterable[str]] = ..., recipients: _Optional[_Iterable[str]] = ..., subject_categories: _Optional[_Iterable[str]] = ..., retention: _Optional[str] = ..., security_measures: _Optional[str] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., withdrawn: _Optional[bool] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "kind", "occurred_at", "system", "data_categories", "purposes", "legal_bases", "recipient", "consent_ref", "actor", "deletion_method", "correction", "linked_identifier_kind", "breach_ref", "collection_channel", "details_digest", "exemption", "breach_details", "breach_notification", "subjects_notification", "controller_declaration", "request_ref", "request", "request_extension", "request_response", "request_policy", "consent_policy", "retention_policy", "system_declaration")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DATA_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASES_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CONSENT_REF_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DELETION_METHOD_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    LINKED_IDENTIFIER_KIND_FIELD_NUMBER: _ClassVar[int]
    BREACH_REF_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DETAILS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    EXEMPTION_FIELD_NUMBER: _ClassVar[int]
    BREACH_DETAILS_FIELD_NUMBER: _ClassVar[int]
    BREACH_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    SUBJECTS_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_DECLARATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_REF_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    REQUEST_EXTENSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_POLICY_FIELD_NUMBER: _ClassVar[int]
    CONSENT_POLICY_FIELD_NUMBER: _ClassVar[int]
    RETENTION_POLICY_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_DECLARATION_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    kind: EventKind
    occurred_at: _timestamp_pb2.Timestamp
    system: str
    data_categories: _containers.RepeatedScalarFieldContainer[str]
    purposes: _containers.RepeatedScalarFieldContainer[str]
    legal_bases: _containers.RepeatedScalarFieldContainer[str]
    recipient: Recipient
    consent_ref: str
    actor: str
    deletion_method: DeletionMethod
    correction: Correction
    linked_identifier_kind: str
    breach_ref: str
    collection_channel: str
    details_digest: bytes
    exemption: Exemption
    breach_details: BreachDetails
    breach_notification: BreachNotification
    subjects_notification: SubjectsNotification
    controller_declaration: ControllerDeclaration
    request_ref: str
    request: DataSubjectRequest
    request_extension: RequestExtension
    request_response: RequestResponse
    request_policy: RequestPolicy
    consent_policy: OptInPolicy
    retention_policy: RetentionPolicy
    system_declaration: SystemDeclaration
    def __init__(self, event_id: _Optional[str] = ..., kind: _Optional[_Union[EventKind, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., system: _Optional[str] = ..., data_categories: _Optional[_Iterable[str]] = ..., purposes: _Optional[_Iterable[str]] = ..., legal_bases: _Optional[_Iterable[str]] = ..., recipient: _Optional[_Union[Recipient, _Mapping]] = ..., consent_ref: _Optional[str] = ..., actor: _Optional[str] = ..., deletion_method: _Optional[_Union[DeletionMethod, str]] = ..., correction: _Optional[_Union[Correction, _Mapping]] = ..., linked_identifier_kind: _Optional[str] = ..., breach_ref: _Optional[str] = ..., collection_channel: _Optional[str] = ..., details_digest: _Optional[bytes] = ..., exemption: _Optional[_Union[Exemption, _Mapping]] = ..., breach_details: _Optional[_Union[BreachDetails, _Mapping]] = ..., breach_notification: _Optional[_Union[BreachNotification, _Mapping]] = ..., subjects_notification: _Optional[_Union[SubjectsNotification, _Mapping]] = ..., controller_declaration: _Optional[_Union[ControllerDeclaration, _Mapping]] = ..., request_ref: _Optional[str] = ..., request: _Optional[_Union[DataSubjectRequest, _Mapping]] = ..., request_extension: _Optional[_Union[RequestExtension, _Mapping]] = ..., request_response: _Optional[_Union[RequestResponse, _Mapping]] = ..., request_policy: _Optional[_Union[RequestPolicy, _Mapping]] = ..., consent_policy: _Optional[_Union[OptInPolicy, _Mapping]] = ..., retention_policy: _Optional[_Union[RetentionPolicy, _Mapping]] = ..., system_declaration: _Optional[_Union[SystemDeclaration, _Mapping]] = ...) -> None: ...

class SubjectIdentifier(_message.Message):
    __slots__ = ("kind", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    value: str
    def __init__(self, kind: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class EventSubmission(_message.Message):
    __slots__ = ("event", "subject", "linked_subject", "details")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    LINKED_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    event: Event
    subject: SubjectIdentifier
    linked_subject: SubjectIdentifier
    details: bytes
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., subject: _Optional[_Union[SubjectIdentifier, _Mapping]] = ..., linked_subject: _Optional[_Union[SubjectIdentifier, _Mapping]] = ..., details: _Optional[bytes] = ...) -> None: ...
