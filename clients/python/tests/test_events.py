"""The typed builders follow proto/gdpr_ledger/v1/event_requirements.toml: one per kind, the kind's
required fields are exactly the arguments without a default, and each builds the kind it names."""

import inspect
import tomllib
import unittest

from _repo import REQUIREMENTS
from gdpr_ledger.v1 import event_pb2
from gdpr_ledger_client import events

TABLE = tomllib.loads(REQUIREMENTS.read_text())
# A required field of the table and the argument that fills it, where the two names differ.
ARGUMENT = {
    "event.correction": {"target_index", "action"},
    "event.linked_identifier_kind": set(),  # the builder takes it from linked_subject.kind
}
# Optional parts of a required message field that the builder takes as arguments of their own.
PARTS = {"event.correction": {"reason"}}
SAMPLE = {
    "event_id": "crm:evt-1",
    "system": "crm",
    "subject": events.Subject.email("jane@example.com"),
    "linked_subject": events.Subject.customer_id("C-1"),
    "data_categories": ["pd:EmailAddress"],
    "purposes": ["dpv:ServiceProvision"],
    "legal_bases": ["eu-gdpr:A6-1-b"],
    "recipient": events.Recipient("Mailer GmbH", events.RecipientRole.PROCESSOR, "DE"),
    "deletion_method": events.DeletionMethod.ERASE,
    "breach_ref": "BR-1",
    "exemption": events.Exemption("eu-gdpr:JustificationA17LegallyRequired"),
    "breach_notification": events.BreachNotification("BfDI", reference="BfDI-2025-0412"),
    "subjects_notification": events.SubjectsNotification(not_notified_ground="eu-gdpr:A34-3-a"),
    "controller_declaration": events.ControllerDeclaration("Example GmbH", "DPO office, dpo@example.com"),
    "request_ref": "DSR-1",
    "request": events.DataSubjectRequest(events.DataSubjectRight.ACCESS, "web-form"),
    "request_extension": events.RequestExtension(1, "archived records"),
    "request_response": events.RequestResponse(refusal_ground="eu-gdpr:A12-5-b"),
    "request_policy": events.RequestPolicy("Europe/Berlin", ["2027-04-05"]),
    "consent_policy": events.OptInPolicy([events.OptInRule(["event-badge-scan"], ["dpv:Marketing"])]),
    "retention_policy": events.RetentionPolicy([events.RetentionRule("billing", months=120)]),
    "system_declaration": events.SystemDeclaration("crm", "sales-ops", "DE", ["pd:EmailAddress"]),
    "target_index": 0,
    "action": events.CorrectionAction.RETRACT,
}


def arguments(field: str) -> set:
    return ARGUMENT.get(field, {field.removeprefix("event.")})


class Builders(unittest.TestCase):
    def test_one_builder_per_kind(self):
        self.assertEqual(set(events.BUILDERS), set(TABLE["kinds"]))
        proto_kinds = {name.removeprefix("EVENT_KIND_").lower() for name in event_pb2.EventKind.keys()} - {"unspecified"}
        self.assertEqual(set(events.BUILDERS), proto_kinds)

    def test_required_arguments_are_the_tables(self):
        for kind, builder in events.BUILDERS.items():
            with self.subTest(kind):
                spec = TABLE["kinds"][kind]
                required = {"event_id"}.union(*(arguments(f) for f in spec["required"]))
                allowed = required | {"actor", "occurred_at"}
                allowed = allowed.union(*(arguments(f) for f in spec["optional"]))
                allowed = allowed.union(*(PARTS.get(f, set()) for f in spec["required"]))
                params = inspect.signature(builder).parameters.values()
                self.assertTrue(all(p.kind is p.KEYWORD_ONLY for p in params))
                self.assertEqual({p.name for p in params if p.default is p.empty}, required)
                self.assertEqual({p.name for p in params}, allowed)

    def test_each_builder_makes_its_kind_with_its_fields(self):
        for kind, builder in events.BUILDERS.items():
            with self.subTest(kind):
                params = inspect.signature(builder).parameters.values()
                submission = builder(**{p.name: SAMPLE[p.name] for p in params if p.default is p.empty})
                self.assertEqual(submission.event.kind, event_pb2.EventKind.Value(f"EVENT_KIND_{kind.upper()}"))
                self.assertEqual(submission.event.event_id, "crm:evt-1")
                self.assertGreater(submission.event.occurred_at.seconds, 1_700_000_000)
                for field in TABLE["kinds"][kind]["required"]:
                    if field.startswith("event."):
                        self.assertTrue(_present(submission.event, field.removeprefix("event.")), field)
                    else:
                        self.assertTrue(submission.HasField(field), field)
                self.assertEqual(submission.event.details_digest, b"")

    def test_identity_link_records_the_kind_only(self):
        s = events.identity_link(event_id="crm:l-1", system="crm", subject=events.Subject.email("a@b.example"),
                                 linked_subject=events.Subject.customer_id("C-9"))
        self.assertEqual(s.event.linked_identifier_kind, "customer_id")
        self.assertNotIn(b"C-9", s.event.SerializeToString())

    def test_event_ids_are_checked(self):
        for bad in ("", "jane doe@example.com", "x" * 129):
            with self.subTest(bad), self.assertRaises(ValueError):
                events.access(event_id=bad, system="crm", subject=SAMPLE["subject"], data_categories=["pd:Name"],
                              purposes=["dpv:X"], legal_bases=["eu-gdpr:A6-1-b"])
        self.assertRegex(events.new_event_id("crm"), r"^crm:evt-\d+-[0-9a-f]{8}$")


def _present(message, name: str) -> bool:
    value = getattr(message, name)
    if hasattr(value, "ListFields"):
        return message.HasField(name)
    return bool(value)
