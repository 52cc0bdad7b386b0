"""Typed builders of `EventSubmission`s, one per event kind (docs/events.md).

Each builder takes, as keyword-only arguments, exactly the fields that
`proto/gdpr_ledger/v1/event_requirements.toml` lets its kind carry: the ones the kind requires have
no default, the optional ones default to absent. The kind is set by the builder, `occurred_at`
defaults to now, and `event_id` is always the caller's: it makes a retry idempotent (the same id
and content get the original receipt back), so derive it from the producer's own record
(`crm:evt-001001`), or make one with `new_event_id` and keep it for the retries.

Everything that identifies a person goes in `subject` (and `linked_subject`, `details`), which the
ledger never writes to the log in clear; the other fields are stored as they are, forever, and must
hold no personal data (docs/events.md).

    from gdpr_ledger_client import events
    submission = events.collection(
        event_id="crm:evt-001001", system="crm", subject=events.Subject.email("jane@example.com"),
        data_categories=["pd:EmailAddress"], purposes=["dpv:ServiceProvision"],
        legal_bases=["eu-gdpr:A6-1-b"], collection_channel="web-form")

The server validates every field (docs/events.md); these builders check only the event id's
format, so that a bad id fails before it is sent.
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Optional, Sequence, Union

from gdpr_ledger.v1 import event_pb2

__all__ = [
    "Subject",
    "Recipient",
    "RecipientRole",
    "TransferBasis",
    "DeletionMethod",
    "CorrectionAction",
    "Exemption",
    "BreachDetails",
    "BreachNotification",
    "SubjectsNotification",
    "ControllerDeclaration",
    "DataSubjectRight",
    "DataSubjectRequest",
    "RequestExtension",
    "RequestResponse",
    "RequestPolicy",
    "OptInRule",
    "OptInPolicy",
    "RetentionTrigger",
    "RetentionRule",
    "RetentionPolicy",
    "SystemDeclaration",
    "new_event_id",
    "BUILDERS",
    "collection",
    "share",
    "access",
    "rectification",
    "restriction",
    "objection",
    "export",
    "consent_given",
    "consent_withdrawn",
    "erasure_requested",
    "deletion_done",
    "retention_expired",
    "breach",
    "identity_link",
    "correction",
    "erasure_exempted",
    "breach_notified",
    "subjects_notified",
    "controller_declared",
    "request_received",
    "request_extended",
    "request_answered",
    "request_refused",
    "request_policy_declared",
    "consent_policy_declared",
    "retention_policy_declared",
    "relationship_ended",
    "system_declared",
]

EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")

Timestamp = Union[_dt.datetime, float, int, None]
Terms = Sequence[str]


class RecipientRole(IntEnum):
    PROCESSOR = event_pb2.RECIPIENT_ROLE_PROCESSOR
    SUB_PROCESSOR = event_pb2.RECIPIENT_ROLE_SUB_PROCESSOR
    CONTROLLER = event_pb2.RECIPIENT_ROLE_CONTROLLER
    JOINT_CONTROLLER = event_pb2.RECIPIENT_ROLE_JOINT_CONTROLLER
    CHANNEL_PARTNER = event_pb2.RECIPIENT_ROLE_CHANNEL_PARTNER
    THIRD_PARTY = event_pb2.RECIPIENT_ROLE_THIRD_PARTY


class TransferBasis(IntEnum):
    ADEQUACY_DECISION = event_pb2.TRANSFER_BASIS_ADEQUACY_DECISION
    STANDARD_CONTRACTUAL_CLAUSES = event_pb2.TRANSFER_BASIS_STANDARD_CONTRACTUAL_CLAUSES
    BINDING_CORPORATE_RULES = event_pb2.TRANSFER_BASIS_BINDING_CORPORATE_RULES
    CODE_OF_CONDUCT = event_pb2.TRANSFER_BASIS_CODE_OF_CONDUCT
    CERTIFICATION = event_pb2.TRANSFER_BASIS_CERTIFICATION
    DEROGATION = event_pb2.TRANSFER_BASIS_DEROGATION


class DeletionMethod(IntEnum):
    DELETE = event_pb2.DELETION_METHOD_DELETE
    ERASE = event_pb2.DELETION_METHOD_ERASE
    DESTRUCT = event_pb2.DELETION_METHOD_DESTRUCT


class CorrectionAction(IntEnum):
    RETRACT = event_pb2.CORRECTION_ACTION_RETRACT
    AMEND = event_pb2.CORRECTION_ACTION_AMEND


@dataclass(frozen=True)
class Subject:
    """A data subject's identifier: `kind` (`email`, `phone`, `customer_id`, or `[a-z0-9_]{1,32}`)
    and `value`. Never stored: the ledger replaces it by the subject's pseudonym."""

    kind: str
    value: str

    @classmethod
    def email(cls, value: str) -> "Subject":
        return cls("email", value)

    @classmethod
    def phone(cls, value: str) -> "Subject":
        return cls("phone", value)

    @classmethod
    def customer_id(cls, value: str) -> "Subject":
        return cls("customer_id", value)

    def to_proto(self) -> event_pb2.SubjectIdentifier:
        return event_pb2.SubjectIdentifier(kind=self.kind, value=self.value)


@dataclass(frozen=True)
class Recipient:
    """Who received the data: an organisation (never a person), its role, the ISO 3166-1 alpha-2
    country where it processes the data, and the transfer basis when that is outside the EEA."""

    name: str
    role: RecipientRole
    country: str
    transfer_basis: Optional[TransferBasis] = None

    def to_proto(self) -> event_pb2.Recipient:
        return event_pb2.Recipient(name=self.name, role=int(self.role), country=self.country,
                                   transfer_basis=int(self.transfer_basis or 0))


@dataclass(frozen=True)
class Exemption:
    """Why a holder keeps data despite an erasure request (article 17(3), as DPV names it: `eu-gdpr:JustificationA17LegallyRequired`, ...)."""

    legal_ground: str
    until: Timestamp = None
    reason: Optional[str] = None

    def to_proto(self) -> event_pb2.Exemption:
        exemption = event_pb2.Exemption(legal_ground=self.legal_ground, reason=self.reason or "")
        if self.until is not None:
            _set_time(exemption.until, self.until)
        return exemption


@dataclass(frozen=True)
class BreachDetails:
    """What the controller knows of a breach case (article 33(3)); `aware_at` is required on the
    case's first report. The texts are stored in clear, forever: no personal data in them."""

    aware_at: Timestamp = None
    nature: Optional[str] = None
    likely_consequences: Optional[str] = None
    measures: Optional[str] = None
    window_from: Timestamp = None
    window_to: Timestamp = None
    subject_categories: Terms = ()

    def to_proto(self) -> event_pb2.BreachDetails:
        details = event_pb2.BreachDetails(nature=self.nature or "",
                                          likely_consequences=self.likely_consequences or "",
                                          measures=self.measures or "",
                                          subject_categories=list(self.subject_categories))
        for name in ("aware_at", "window_from", "window_to"):
            if getattr(self, name) is not None:
                _set_time(getattr(details, name), getattr(self, name))
        return details


@dataclass(frozen=True)
class BreachNotification:
    """The notification of a breach case to the supervisory authority (article 33); give
    `reasons_for_delay` when it comes more than 72 hours after `aware_at`."""

    authority: str
    notified_at: Timestamp = None
    reference: Optional[str] = None
    reasons_for_delay: Optional[str] = None

    def to_proto(self) -> event_pb2.BreachNotification:
        notification = event_pb2.BreachNotification(authority=self.authority, reference=self.reference or "",
                                                    reasons_for_delay=self.reasons_for_delay or "")
        _set_time(notification.notified_at, self.notified_at)
        return notification


@dataclass(frozen=True)
class SubjectsNotification:
    """The communication of a breach to its data subjects (article 34): when they were told, or,
    with `not_notified_ground` (`eu-gdpr:A34-3-a` .. `A34-3-c`), why they were not."""

    notified_at: Timestamp = None
    not_notified_ground: Optional[str] = None
    reason: Optional[str] = None

    def to_proto(self) -> event_pb2.SubjectsNotification:
        notification = event_pb2.SubjectsNotification(not_notified_ground=self.not_notified_ground or "",
                                                      reason=self.reason or "")
        if not self.not_notified_ground:
            _set_time(notification.notified_at, self.notified_at)
        return notification


@dataclass(frozen=True)
class ControllerDeclaration:
    """The controller's name and its DPO's contact (an office's, never a person's data), in force
    from `effective_at` (default: now). Only an admin may append a declaration."""

    name: str
    dpo_contact: str
    effective_at: Timestamp = None

    def to_proto(self) -> event_pb2.ControllerDeclaration:
        declaration = event_pb2.ControllerDeclaration(name=self.name, dpo_contact=self.dpo_contact)
        _set_time(declaration.effective_at, self.effective_at)
        return declaration


class DataSubjectRight(IntEnum):
    ACCESS = event_pb2.DATA_SUBJECT_RIGHT_ACCESS
    RECTIFICATION = event_pb2.DATA_SUBJECT_RIGHT_RECTIFICATION
    ERASURE = event_pb2.DATA_SUBJECT_RIGHT_ERASURE
    RESTRICTION = event_pb2.DATA_SUBJECT_RIGHT_RESTRICTION
    PORTABILITY = event_pb2.DATA_SUBJECT_RIGHT_PORTABILITY
    OBJECTION = event_pb2.DATA_SUBJECT_RIGHT_OBJECTION


@dataclass(frozen=True)
class DataSubjectRequest:
    """A data subject request as received (docs/requests.md): the right (not ERASURE, which is an
    erasure_requested event), the channel, and when it was received (default: now)."""

    right: DataSubjectRight
    channel: str
    received_at: Timestamp = None

    def to_proto(self) -> event_pb2.DataSubjectRequest:
        request = event_pb2.DataSubjectRequest(right=int(self.right), channel=self.channel)
        _set_time(request.received_at, self.received_at)
        return request


@dataclass(frozen=True)
class RequestExtension:
    """An extension by 1 or 2 further months (article 12(3)), why, and when the subject was told
    (default: now)."""

    months: int
    reason: str
    subject_told_at: Timestamp = None

    def to_proto(self) -> event_pb2.RequestExtension:
        extension = event_pb2.RequestExtension(months=self.months, reason=self.reason)
        _set_time(extension.subject_told_at, self.subject_told_at)
        return extension


@dataclass(frozen=True)
class RequestResponse:
    """When a request was answered or refused (default: now); a refusal's ground (`eu-gdpr:A11-2`,
    `A12-5-b`, `A21-1`, `A23-1`)."""

    responded_at: Timestamp = None
    refusal_ground: Optional[str] = None
    reason: Optional[str] = None

    def to_proto(self) -> event_pb2.RequestResponse:
        response = event_pb2.RequestResponse(refusal_ground=self.refusal_ground or "", reason=self.reason or "")
        _set_time(response.responded_at, self.responded_at)
        return response


@dataclass(frozen=True)
class RequestPolicy:
    """The IANA time zone and public holidays (YYYY-MM-DD) request deadlines are counted under, in
    force from `effective_at` (default: now). Only an admin may declare a policy."""

    time_zone: str
    public_holidays: Terms = ()
    effective_at: Timestamp = None

    def to_proto(self) -> event_pb2.RequestPolicy:
        policy = event_pb2.RequestPolicy(time_zone=self.time_zone, public_holidays=list(self.public_holidays))
        _set_time(policy.effective_at, self.effective_at)
        return policy


@dataclass(frozen=True)
class OptInRule:
    """Collections through one of `channels` (a collection's `collection_channel`) for one of
    `purposes` (none: every purpose) need consent, whatever legal basis they state."""

    channels: Terms
    purposes: Terms = ()

    def to_proto(self) -> event_pb2.OptInRule:
        return event_pb2.OptInRule(channels=list(self.channels), purposes=list(self.purposes))


@dataclass(frozen=True)
class OptInPolicy:
    """The opt-in policy (docs/erasure.md section 6): its rules, in force from `effective_at`
    (default: now); no rules ends the requirement. Only an admin may declare a policy."""

    rules: Sequence[OptInRule] = ()
    effective_at: Timestamp = None

    def to_proto(self) -> event_pb2.OptInPolicy:
        policy = event_pb2.OptInPolicy(rules=[rule.to_proto() for rule in self.rules])
        _set_time(policy.effective_at, self.effective_at)
        return policy


class RetentionTrigger(IntEnum):
    """What a retention period runs from."""

    LAST_COLLECTION = event_pb2.RETENTION_TRIGGER_LAST_COLLECTION
    RELATIONSHIP_ENDED = event_pb2.RETENTION_TRIGGER_RELATIONSHIP_ENDED


@dataclass(frozen=True)
class RetentionRule:
    """How long `system` (a holder's name, or "*") may keep data of `data_category` for `purpose`
    (DPV terms, or "*"): `days` or `months` (exactly one), from `trigger`."""

    system: str
    data_category: str = "*"
    purpose: str = "*"
    days: int = 0
    months: int = 0
    trigger: RetentionTrigger = RetentionTrigger.LAST_COLLECTION

    def to_proto(self) -> event_pb2.RetentionRule:
        return event_pb2.RetentionRule(system=self.system, data_category=self.data_category,
                                       purpose=self.purpose, days=self.days, months=self.months,
                                       trigger=int(self.trigger))


@dataclass(frozen=True)
class RetentionPolicy:
    """The retention schedule (docs/retention.md): its rules, in force from `effective_at`
    (default: now); no rules ends every deadline. Only an admin may declare a policy."""

    rules: Sequence[RetentionRule] = ()
    effective_at: Timestamp = None

    def to_proto(self) -> event_pb2.RetentionPolicy:
        policy = event_pb2.RetentionPolicy(rules=[rule.to_proto() for rule in self.rules])
        _set_time(policy.effective_at, self.effective_at)
        return policy


@dataclass(frozen=True)
class SystemDeclaration:
    """A system of the data map (docs/data-map.md), as the controller declares it, in force from
    `effective_at` (default: now): its owner (a team or role), country (ISO 3166-1 alpha-2), the
    categories and purposes it holds data for, the recipients it shares with (as shares name
    them), the categories of data subjects, retention and security measures (article 30(1)).
    `withdrawn=True` (with the name only) takes it off the map. Only an admin may declare one."""

    name: str
    owner: Optional[str] = None
    country: Optional[str] = None
    data_categories: Terms = ()
    purposes: Terms = ()
    recipients: Terms = ()
    subject_categories: Terms = ()
    retention: Optional[str] = None
    security_measures: Optional[str] = None
    effective_at: Timestamp = None
    withdrawn: bool = False

    def to_proto(self) -> event_pb2.SystemDeclaration:
        declared = event_pb2.SystemDeclaration(
            name=self.name, owner=self.owner or "", country=self.country or "",
            data_categories=list(self.data_categories), purposes=list(self.purposes),
            recipients=list(self.recipients), subject_categories=list(self.subject_categories),
            retention=self.retention or "", security_measures=self.security_measures or "",
            withdrawn=self.withdrawn)
        _set_time(declared.effective_at, self.effective_at)
        return declared


def new_event_id(prefix: str) -> str:
    """A fresh event id `<prefix>:evt-<nanoseconds>-<random>`; keep it to retry with the same id."""
    event_id = f"{prefix}:evt-{time.time_ns()}-{secrets.token_hex(4)}"
    _check_event_id(event_id)
    return event_id


def _check_event_id(event_id: str):
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        raise ValueError("event_id must be 1 to 128 characters from [A-Za-z0-9._:-] (and no personal data)")


def _set_time(target, when: Timestamp):
    if when is None:
        target.GetCurrentTime()
    elif isinstance(when, _dt.datetime):
        if when.tzinfo is None:
            raise ValueError("a datetime must carry its time zone")
        target.FromDatetime(when.astimezone(_dt.timezone.utc))
    else:
        target.FromNanoseconds(int(round(when * 1_000_000_000)))


def _submission(
    kind: int,
    *,
    event_id: str,
    occurred_at: Timestamp,
    subject: Optional[Subject] = None,
    linked_subject: Optional[Subject] = None,
    details: Optional[bytes] = None,
    recipient: Optional[Recipient] = None,
    exemption: Optional[Exemption] = None,
    breach_details: Optional[BreachDetails] = None,
    breach_notification: Optional[BreachNotification] = None,
    subjects_notification: Optional[SubjectsNotification] = None,
    controller_declaration: Optional[ControllerDeclaration] = None,
    request: Optional[DataSubjectRequest] = None,
    request_extension: Optional[RequestExtension] = None,
    request_response: Optional[RequestResponse] = None,
    request_policy: Optional[RequestPolicy] = None,
    consent_policy: Optional[OptInPolicy] = None,
    retention_policy: Optional[RetentionPolicy] = None,
    system_declaration: Optional[SystemDeclaration] = None,
    correction: Optional[event_pb2.Correction] = None,
    deletion_method: Optional[DeletionMethod] = None,
    data_categories: Terms = (),
    purposes: Terms = (),
    legal_bases: Terms = (),
    **strings: Optional[str],
) -> event_pb2.EventSubmission:
    _check_event_id(event_id)
    event = event_pb2.Event(
        event_id=event_id,
        kind=kind,
        data_categories=list(data_categories),
        purposes=list(purposes),
        legal_bases=list(legal_bases),
        deletion_method=int(deletion_method or 0),
        **{name: value for name, value in strings.items() if value},
    )
    _set_time(event.occurred_at, occurred_at)
    if recipient is not None:
        event.recipient.CopyFrom(recipient.to_proto())
    if exemption is not None:
        event.exemption.CopyFrom(exemption.to_proto())
    if breach_details is not None:
        event.breach_details.CopyFrom(breach_details.to_proto())
    if breach_notification is not None:
        event.breach_notification.CopyFrom(breach_notification.to_proto())
    if subjects_notification is not None:
        event.subjects_notification.CopyFrom(subjects_notification.to_proto())
    if controller_declaration is not None:
        event.controller_declaration.CopyFrom(controller_declaration.to_proto())
    for name, part in (("request", request), ("request_extension", request_extension),
                       ("request_response", request_response), ("request_policy", request_policy),
                       ("consent_policy", consent_policy), ("retention_policy", retention_policy),
                       ("system_declaration", system_declaration)):
        if part is not None:
            getattr(event, name).CopyFrom(part.to_proto())
    if correction is not None:
        event.correction.CopyFrom(correction)
    submission = event_pb2.EventSubmission(event=event, details=details or b"")
    if subject is not None:
        submission.subject.CopyFrom(subject.to_proto())
    if linked_subject is not None:
        submission.linked_subject.CopyFrom(linked_subject.to_proto())
    return submission


def collection(*, event_id: str, system: str, subject: Subject, data_categories: Terms, purposes: Terms,
               legal_bases: Terms, consent_ref: Optional[str] = None, collection_channel: Optional[str] = None,
               details: Optional[bytes] = None, actor: Optional[str] = None,
               occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """Personal data was collected or obtained in `system`."""
    return _submission(event_pb2.EVENT_KIND_COLLECTION, event_id=event_id, system=system, subject=subject,
                       data_categories=data_categories, purposes=purposes, legal_bases=legal_bases,
                       consent_ref=consent_ref, collection_channel=collection_channel, details=details,
                       actor=actor, occurred_at=occurred_at)


def share(*, event_id: str, system: str, subject: Subject, data_categories: Terms, purposes: Terms,
          legal_bases: Terms, recipient: Recipient, consent_ref: Optional[str] = None,
          details: Optional[bytes] = None, actor: Optional[str] = None,
          occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """Personal data was shared with or disclosed to `recipient`."""
    return _submission(event_pb2.EVENT_KIND_SHARE, event_id=event_id, system=system, subject=subject,
                       data_categories=data_categories, purposes=purposes, legal_bases=legal_bases,
                       recipient=recipient, consent_ref=consent_ref, details=details, actor=actor,
                       occurred_at=occurred_at)


def access(*, event_id: str, system: str, subject: Subject, data_categories: Terms, purposes: Terms,
           legal_bases: Terms, consent_ref: Optional[str] = None, details: Optional[bytes] = None,
           actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """Personal data was accessed or used."""
    return _submission(event_pb2.EVENT_KIND_ACCESS, event_id=event_id, system=system, subject=subject,
                       data_categories=data_categories, purposes=purposes, legal_bases=legal_bases,
                       consent_ref=consent_ref, details=details, actor=actor, occurred_at=occurred_at)


def rectification(*, event_id: str, system: str, subject: Subject, data_categories: Terms,
                  details: Optional[bytes] = None, actor: Optional[str] = None,
                  occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """Inaccurate personal data was rectified."""
    return _submission(event_pb2.EVENT_KIND_RECTIFICATION, event_id=event_id, system=system, subject=subject,
                       data_categories=data_categories, details=details, actor=actor, occurred_at=occurred_at)


def restriction(*, event_id: str, system: str, subject: Subject, data_categories: Terms = (),
                purposes: Terms = (), details: Optional[bytes] = None, actor: Optional[str] = None,
                occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """Processing was restricted."""
    return _submission(event_pb2.EVENT_KIND_RESTRICTION, event_id=event_id, system=system, subject=subject,
                       data_categories=data_categories, purposes=purposes, details=details, actor=actor,
                       occurred_at=occurred_at)


def objection(*, event_id: str, system: str, subject: Subject, purposes: Terms, data_categories: Terms = (),
              legal_bases: Terms = (), details: Optional[bytes] = None, actor: Optional[str] = None,
              occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The subject objected to processing for `purposes`."""
    return _submission(event_pb2.EVENT_KIND_OBJECTION, event_id=event_id, system=system, subject=subject,
                       purposes=purposes, data_categories=data_categories, legal_bases=legal_bases,
                       details=details, actor=actor, occurred_at=occurred_at)


def export(*, event_id: str, system: str, subject: Subject, data_categories: Terms,
           recipient: Optional[Recipient] = None, details: Optional[bytes] = None, actor: Optional[str] = None,
           occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The subject's data was exported (portability)."""
    return _submission(event_pb2.EVENT_KIND_EXPORT, event_id=event_id, system=system, subject=subject,
                       data_categories=data_categories, recipient=recipient, details=details, actor=actor,
                       occurred_at=occurred_at)


def consent_given(*, event_id: str, system: str, subject: Subject, purposes: Terms, data_categories: Terms = (),
                  legal_bases: Terms = (), consent_ref: Optional[str] = None, details: Optional[bytes] = None,
                  actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The subject gave consent for `purposes` (legal bases: consent ones only)."""
    return _submission(event_pb2.EVENT_KIND_CONSENT_GIVEN, event_id=event_id, system=system, subject=subject,
                       purposes=purposes, data_categories=data_categories, legal_bases=legal_bases,
                       consent_ref=consent_ref, details=details, actor=actor, occurred_at=occurred_at)


def consent_withdrawn(*, event_id: str, system: str, subject: Subject, purposes: Terms,
                      data_categories: Terms = (), legal_bases: Terms = (), consent_ref: Optional[str] = None,
                      details: Optional[bytes] = None, actor: Optional[str] = None,
                      occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The subject withdrew consent for `purposes`."""
    return _submission(event_pb2.EVENT_KIND_CONSENT_WITHDRAWN, event_id=event_id, system=system,
                       subject=subject, purposes=purposes, data_categories=data_categories,
                       legal_bases=legal_bases, consent_ref=consent_ref, details=details, actor=actor,
                       occurred_at=occurred_at)


def erasure_requested(*, event_id: str, system: str, subject: Subject, data_categories: Terms = (),
                      recipient: Optional[Recipient] = None, details: Optional[bytes] = None,
                      actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The subject asked for erasure (opens an erasure case, docs/erasure.md)."""
    return _submission(event_pb2.EVENT_KIND_ERASURE_REQUESTED, event_id=event_id, system=system,
                       subject=subject, data_categories=data_categories, recipient=recipient, details=details,
                       actor=actor, occurred_at=occurred_at)


def deletion_done(*, event_id: str, system: str, subject: Subject, deletion_method: DeletionMethod,
                  data_categories: Terms = (), details: Optional[bytes] = None, actor: Optional[str] = None,
                  occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """`system` deleted the subject's data (a holder's confirmation in an erasure case)."""
    return _submission(event_pb2.EVENT_KIND_DELETION_DONE, event_id=event_id, system=system, subject=subject,
                       deletion_method=deletion_method, data_categories=data_categories, details=details,
                       actor=actor, occurred_at=occurred_at)


def retention_expired(*, event_id: str, system: str, subject: Subject, data_categories: Terms = (),
                      purposes: Terms = (), details: Optional[bytes] = None, actor: Optional[str] = None,
                      occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The retention period of the subject's data ran out."""
    return _submission(event_pb2.EVENT_KIND_RETENTION_EXPIRED, event_id=event_id, system=system,
                       subject=subject, data_categories=data_categories, purposes=purposes, details=details,
                       actor=actor, occurred_at=occurred_at)


def breach(*, event_id: str, system: str, data_categories: Terms, breach_ref: str,
           subject: Optional[Subject] = None, breach_details: Optional[BreachDetails] = None,
           actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """A personal data breach in `system` (`breach_ref`: the breach register's reference, which
    groups the case; the case's first report carries `breach_details.aware_at`)."""
    return _submission(event_pb2.EVENT_KIND_BREACH, event_id=event_id, system=system,
                       data_categories=data_categories, breach_ref=breach_ref, subject=subject,
                       breach_details=breach_details, actor=actor, occurred_at=occurred_at)


def breach_notified(*, event_id: str, system: str, breach_ref: str, breach_notification: BreachNotification,
                    actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The supervisory authority was notified of the breach case `breach_ref` (article 33)."""
    return _submission(event_pb2.EVENT_KIND_BREACH_NOTIFIED, event_id=event_id, system=system,
                       breach_ref=breach_ref, breach_notification=breach_notification, actor=actor,
                       occurred_at=occurred_at)


def subjects_notified(*, event_id: str, system: str, breach_ref: str,
                      subjects_notification: SubjectsNotification, actor: Optional[str] = None,
                      occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The data subjects of the breach case `breach_ref` were told, or not on a ground of article
    34(3)."""
    return _submission(event_pb2.EVENT_KIND_SUBJECTS_NOTIFIED, event_id=event_id, system=system,
                       breach_ref=breach_ref, subjects_notification=subjects_notification, actor=actor,
                       occurred_at=occurred_at)


def identity_link(*, event_id: str, system: str, subject: Subject, linked_subject: Subject,
                  details: Optional[bytes] = None, actor: Optional[str] = None,
                  occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """`linked_subject` is one more identifier of the same person (its kind is recorded, its value
    never is)."""
    return _submission(event_pb2.EVENT_KIND_IDENTITY_LINK, event_id=event_id, system=system, subject=subject,
                       linked_subject=linked_subject, linked_identifier_kind=linked_subject.kind,
                       details=details, actor=actor, occurred_at=occurred_at)


def correction(*, event_id: str, target_index: int, action: CorrectionAction, reason: Optional[str] = None,
               system: Optional[str] = None, data_categories: Terms = (), purposes: Terms = (),
               legal_bases: Terms = (), recipient: Optional[Recipient] = None, consent_ref: Optional[str] = None,
               deletion_method: Optional[DeletionMethod] = None, breach_ref: Optional[str] = None,
               collection_channel: Optional[str] = None, actor: Optional[str] = None,
               occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """Retracts or amends the entry at `target_index` (an AMEND carries the replacement fields)."""
    fix = event_pb2.Correction(target_index=target_index, action=int(action), reason=reason or "")
    return _submission(event_pb2.EVENT_KIND_CORRECTION, event_id=event_id, correction=fix, system=system,
                       data_categories=data_categories, purposes=purposes, legal_bases=legal_bases,
                       recipient=recipient, consent_ref=consent_ref, deletion_method=deletion_method,
                       breach_ref=breach_ref, collection_channel=collection_channel, actor=actor,
                       occurred_at=occurred_at)


def erasure_exempted(*, event_id: str, system: str, subject: Subject, exemption: Exemption,
                     data_categories: Terms = (), details: Optional[bytes] = None, actor: Optional[str] = None,
                     occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """`system` keeps the subject's data despite an erasure request, on `exemption`'s ground."""
    return _submission(event_pb2.EVENT_KIND_ERASURE_EXEMPTED, event_id=event_id, system=system,
                       subject=subject, exemption=exemption, data_categories=data_categories, details=details,
                       actor=actor, occurred_at=occurred_at)


def controller_declared(*, event_id: str, system: str, controller_declaration: ControllerDeclaration,
                        actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The controller's name and DPO contact, in force from `effective_at` (an admin's)."""
    return _submission(event_pb2.EVENT_KIND_CONTROLLER_DECLARED, event_id=event_id, system=system,
                       controller_declaration=controller_declaration, actor=actor, occurred_at=occurred_at)


def request_received(*, event_id: str, system: str, subject: Subject, request_ref: str,
                     request: DataSubjectRequest, data_categories: Terms = (), details: Optional[bytes] = None,
                     actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """A data subject request was received: the case `request_ref` opens (docs/requests.md)."""
    return _submission(event_pb2.EVENT_KIND_REQUEST_RECEIVED, event_id=event_id, system=system, subject=subject,
                       request_ref=request_ref, request=request, data_categories=data_categories,
                       details=details, actor=actor, occurred_at=occurred_at)


def request_extended(*, event_id: str, system: str, request_ref: str, request_extension: RequestExtension,
                     actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The time to answer the request `request_ref` was extended (article 12(3))."""
    return _submission(event_pb2.EVENT_KIND_REQUEST_EXTENDED, event_id=event_id, system=system,
                       request_ref=request_ref, request_extension=request_extension, actor=actor,
                       occurred_at=occurred_at)


def request_answered(*, event_id: str, system: str, request_ref: str, request_response: RequestResponse,
                     actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The request `request_ref` was answered."""
    return _submission(event_pb2.EVENT_KIND_REQUEST_ANSWERED, event_id=event_id, system=system,
                       request_ref=request_ref, request_response=request_response, actor=actor,
                       occurred_at=occurred_at)


def request_refused(*, event_id: str, system: str, request_ref: str, request_response: RequestResponse,
                    actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The request `request_ref` was refused on `request_response.refusal_ground`."""
    return _submission(event_pb2.EVENT_KIND_REQUEST_REFUSED, event_id=event_id, system=system,
                       request_ref=request_ref, request_response=request_response, actor=actor,
                       occurred_at=occurred_at)


def request_policy_declared(*, event_id: str, system: str, request_policy: RequestPolicy,
                            actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The time zone and public holidays request deadlines are counted under (an admin's)."""
    return _submission(event_pb2.EVENT_KIND_REQUEST_POLICY_DECLARED, event_id=event_id, system=system,
                       request_policy=request_policy, actor=actor, occurred_at=occurred_at)


def consent_policy_declared(*, event_id: str, system: str, consent_policy: OptInPolicy,
                            actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The opt-in policy by channel and purpose (an admin's)."""
    return _submission(event_pb2.EVENT_KIND_CONSENT_POLICY_DECLARED, event_id=event_id, system=system,
                       consent_policy=consent_policy, actor=actor, occurred_at=occurred_at)


def retention_policy_declared(*, event_id: str, system: str, retention_policy: RetentionPolicy,
                              actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The retention schedule (an admin's)."""
    return _submission(event_pb2.EVENT_KIND_RETENTION_POLICY_DECLARED, event_id=event_id, system=system,
                       retention_policy=retention_policy, actor=actor, occurred_at=occurred_at)


def relationship_ended(*, event_id: str, system: str, subject: Subject, details: Optional[bytes] = None,
                       actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """The subject's relationship with `system` ended (contract ended, account closed)."""
    return _submission(event_pb2.EVENT_KIND_RELATIONSHIP_ENDED, event_id=event_id, system=system,
                       subject=subject, details=details, actor=actor, occurred_at=occurred_at)


def system_declared(*, event_id: str, system: str, system_declaration: SystemDeclaration,
                    actor: Optional[str] = None, occurred_at: Timestamp = None) -> event_pb2.EventSubmission:
    """A system of the data map as the controller declares it (an admin's)."""
    return _submission(event_pb2.EVENT_KIND_SYSTEM_DECLARED, event_id=event_id, system=system,
                       system_declaration=system_declaration, actor=actor, occurred_at=occurred_at)


# The builder of each kind, by the kind's name in event_requirements.toml.
BUILDERS = {
    "collection": collection,
    "share": share,
    "access": access,
    "rectification": rectification,
    "restriction": restriction,
    "objection": objection,
    "export": export,
    "consent_given": consent_given,
    "consent_withdrawn": consent_withdrawn,
    "erasure_requested": erasure_requested,
    "deletion_done": deletion_done,
    "retention_expired": retention_expired,
    "breach": breach,
    "identity_link": identity_link,
    "correction": correction,
    "erasure_exempted": erasure_exempted,
    "breach_notified": breach_notified,
    "subjects_notified": subjects_notified,
    "controller_declared": controller_declared,
    "request_received": request_received,
    "request_extended": request_extended,
    "request_answered": request_answered,
    "request_refused": request_refused,
    "request_policy_declared": request_policy_declared,
    "consent_policy_declared": consent_policy_declared,
    "retention_policy_declared": retention_policy_declared,
    "relationship_ended": relationship_ended,
    "system_declared": system_declared,
}
