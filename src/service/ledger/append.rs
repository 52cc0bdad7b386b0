//! `Append` and `AppendBatch`: submissions checked and prepared, handed to the sequencer, and
//! answered with receipts (with proof bundles when asked, consent and vocabulary warnings); confirmed
//! deletions are passed on to the erasure manager.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tonic::{Request, Response};

use super::LedgerService;
use super::prepare::check_systems;
use crate::proofs;
use crate::proto::v1 as pb;
use crate::sequencer::{PreparedEvent, Receipt, SignedCheckpoint};
use crate::service::admission;
use crate::service::status::{AppendLocation, ServiceError, blocking};
use crate::validation::FieldError;

/// What an append does besides sequencing: deletions, consent warnings, receipts.
impl LedgerService {
    /// The positions of the events that confirm a deletion.
    fn deletion_positions(&self, events: &[PreparedEvent]) -> Vec<usize> {
        if self.erasure.is_none() {
            return Vec::new();
        }
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.event.kind() == pb::EventKind::DeletionDone)
            .map(|(position, _)| position)
            .collect()
    }

    /// The events that may rely on consent, by position: those whose legal basis is consent, and
    /// the collections through a channel, which the opt-in policy may require consent for
    /// (`consent::receipt_warning` decides, with the policy the log holds).
    fn consent_checks(events: &[PreparedEvent]) -> Vec<(usize, pb::Event)> {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                crate::consent::relies_on_consent(&e.event, None).is_some()
                    || (e.event.kind() == pb::EventKind::Collection
                        && !e.event.collection_channel.is_empty())
            })
            .map(|(position, e)| (position, e.event.clone()))
            .collect()
    }

    /// Checks the events that rely on consent (by their stated basis, or by the opt-in policy
    /// in force at their `occurred_at` among the declarations the log holds now) against their
    /// subject's consents as recorded now (the subject's token from its receipt), and writes the
    /// problems into the receipts.
    async fn warn_about_consent(
        &self,
        checks: Vec<(usize, pb::Event)>,
        tokens: &[Option<[u8; 32]>],
        receipts: &mut [pb::Receipt],
    ) -> Result<(), ServiceError> {
        let checks: Vec<([u8; 32], usize, pb::Event)> = checks
            .into_iter()
            .filter_map(|(position, event)| {
                tokens
                    .get(position)
                    .copied()
                    .flatten()
                    .map(|token| (token, position, event))
            })
            .collect();
        if checks.is_empty() {
            return Ok(());
        }
        // Without an opt-in policy in the log, only a processing that states consent as its
        // basis relies on it: when none does, nothing can warn, and the store is not read.
        let stated = |event: &pb::Event| crate::consent::relies_on_consent(event, None).is_some();
        if checks.iter().all(|(_, _, event)| !stated(event))
            && self.store.known_to_declare_no_consent_policy()
        {
            return Ok(());
        }
        let store = self.store.clone();
        let warnings = blocking(move || {
            let policies = crate::consent::opt_in_policies(&store, store.tree_size()?)?;
            let mut warnings = Vec::new();
            for (token, position, event) in checks {
                if let Some(warning) =
                    crate::consent::receipt_warning(&store, &token, &event, &policies)?
                {
                    warnings.push((position, warning));
                }
            }
            Ok::<_, ServiceError>(warnings)
        })
        .await?;
        for (position, warning) in warnings {
            if let Some(receipt) = receipts.get_mut(position) {
                receipt.consent_warning = warning;
            }
        }
        Ok(())
    }

    /// The vocabulary warnings of the events, by position (`validation::dpv`): computed before
    /// the events go to the sequencer, written into the receipts after.
    fn vocabulary_warnings(events: &[PreparedEvent]) -> Vec<(usize, String)> {
        events
            .iter()
            .enumerate()
            .filter_map(|(position, e)| {
                crate::validation::dpv::vocabulary_warning(&e.event).map(|w| (position, w))
            })
            .collect()
    }

    /// Writes the vocabulary warnings into the receipts, counting them.
    fn warn_about_vocabulary(&self, warnings: Vec<(usize, String)>, receipts: &mut [pb::Receipt]) {
        for (position, warning) in warnings {
            if let Some(receipt) = receipts.get_mut(position) {
                receipt.vocabulary_warning = warning;
                self.metrics.vocabulary_warned();
            }
        }
    }

    /// Passes confirmed deletions (the events at `positions`) on to the erasure manager, with
    /// the tokens their receipts carry.
    fn deletions_appended(&self, positions: &[usize], tokens: &[Option<[u8; 32]>]) {
        let Some(manager) = &self.erasure else { return };
        let confirmed: Vec<[u8; 32]> = positions
            .iter()
            .filter_map(|position| tokens.get(*position).copied().flatten())
            .collect();
        if !confirmed.is_empty() {
            manager.deletions_confirmed(confirmed);
        }
    }

    /// The receipts of appended events as the API gives them, each with its inclusion bundle
    /// when `include_bundle` (all read in one blocking task).
    async fn receipts(
        &self,
        receipts: Vec<Receipt>,
        include_bundle: bool,
    ) -> Result<Vec<pb::Receipt>, ServiceError> {
        // Every bundle from one blocking task (each reads its entry and proof).
        let mut bundles = if include_bundle {
            let store = self.store.clone();
            let wanted: Vec<(u64, Arc<SignedCheckpoint>)> = receipts
                .iter()
                .map(|receipt| (receipt.index, receipt.checkpoint.clone()))
                .collect();
            blocking(move || {
                wanted
                    .iter()
                    .map(|(index, checkpoint)| {
                        proofs::inclusion_bundle(&store, *index, checkpoint, None)
                    })
                    .collect::<Result<Vec<String>, _>>()
            })
            .await?
            .into_iter()
        } else {
            Vec::new().into_iter()
        };
        let mut out = Vec::with_capacity(receipts.len());
        for receipt in receipts {
            let bundle_json = bundles.next().unwrap_or_default();
            out.push(pb::Receipt {
                index: receipt.index,
                leaf_hash: receipt.leaf_hash.as_bytes().to_vec(),
                signature: receipt.signature.signature.to_vec(),
                key_id: hex::encode(receipt.signature.key_id),
                checkpoint: receipt.checkpoint.note.clone(),
                duplicate: receipt.duplicate,
                bundle_json,
                consent_warning: String::new(),
                vocabulary_warning: String::new(),
            });
        }
        Ok(out)
    }
}

/// The append paths, wrapped by the trait's methods for their spans and metrics.
impl LedgerService {
    /// Counts an append request's outcome: its receipts or the status that refused it.
    pub(super) fn count_append(&self, outcome: Result<usize, &ServiceError>, started: Instant) {
        match outcome {
            Ok(events) => {
                self.metrics.append_acknowledged(events, started.elapsed());
                tracing::debug!(events, "appended");
            }
            Err(error) => {
                self.metrics.append_rejected(error.code());
                tracing::debug!(code = ?error.code(), message = %error, "append refused");
            }
        }
    }

    /// `Append`: one submission.
    pub(super) async fn append_one(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendResponse>, ServiceError> {
        let caller = admission::caller(&request)?;
        tracing::Span::current().record("producer", caller.identity.as_str());
        self.metrics.append_received(1);
        let request = request.into_inner();
        let submission = request
            .submission
            .ok_or_else(|| FieldError::new("submission", "is required"))?;
        check_systems(&caller, &submission, "submission")?;
        let prepared = self
            .prepare(
                submission,
                &self.limits.validation_limits(),
                SystemTime::now(),
            )
            .map_err(|e| e.prefixed("submission"))?;
        super::breach_cases::check_breach_cases(
            &self.store,
            &caller,
            std::slice::from_ref(&prepared),
            |_| "submission".to_owned(),
        )
        .await?;
        super::request_cases::check_request_cases(
            &self.store,
            &caller,
            std::slice::from_ref(&prepared),
            |_| "submission".to_owned(),
        )
        .await?;
        let deletions = self.deletion_positions(std::slice::from_ref(&prepared));
        let consent = Self::consent_checks(std::slice::from_ref(&prepared));
        let vocabulary = Self::vocabulary_warnings(std::slice::from_ref(&prepared));
        let receipts = self
            .sequencer
            .append(
                caller.identity.clone(),
                caller.correction_rights(),
                vec![prepared],
            )
            .await
            .map_err(|e| ServiceError::append(e, AppendLocation::One("submission")))?;
        let tokens: Vec<Option<[u8; 32]>> = receipts.iter().map(|r| r.subject_token).collect();
        self.deletions_appended(&deletions, &tokens);
        let mut receipts = self.receipts(receipts, request.include_bundle).await?;
        self.warn_about_consent(consent, &tokens, &mut receipts)
            .await?;
        self.warn_about_vocabulary(vocabulary, &mut receipts);
        let receipt = receipts
            .pop()
            .ok_or_else(|| ServiceError::internal("no receipt for the appended event"))?;
        Ok(Response::new(pb::AppendResponse {
            receipt: Some(receipt),
        }))
    }

    /// `AppendBatch`: all of the submissions or none.
    pub(super) async fn append_many(
        &self,
        request: Request<pb::AppendBatchRequest>,
    ) -> Result<Response<pb::AppendBatchResponse>, ServiceError> {
        let caller = admission::caller(&request)?;
        tracing::Span::current().record("producer", caller.identity.as_str());
        let request = request.into_inner();
        let count = request.submissions.len();
        self.metrics.append_received(count);
        if count == 0 {
            return Err(
                FieldError::new("submissions", "at least one submission is required").into(),
            );
        }
        for (position, submission) in request.submissions.iter().enumerate() {
            check_systems(&caller, submission, &format!("submissions[{position}]"))?;
        }
        let limits = self.limits.validation_limits();
        let now = SystemTime::now();
        let mut seen = HashSet::with_capacity(count);
        let mut prepared = Vec::with_capacity(count);
        for (position, submission) in request.submissions.into_iter().enumerate() {
            let prefix = format!("submissions[{position}]");
            let event = self
                .prepare(submission, &limits, now)
                .map_err(|e| e.prefixed(&prefix))?;
            if !seen.insert(event.event.event_id.clone()) {
                return Err(FieldError::new(
                    format!("{prefix}.event.event_id"),
                    format!("{:?} appears twice in this batch", event.event.event_id),
                )
                .into());
            }
            prepared.push(event);
        }
        super::breach_cases::check_breach_cases(&self.store, &caller, &prepared, |position| {
            format!("submissions[{position}]")
        })
        .await?;
        super::request_cases::check_request_cases(&self.store, &caller, &prepared, |position| {
            format!("submissions[{position}]")
        })
        .await?;
        let deletions = self.deletion_positions(&prepared);
        let consent = Self::consent_checks(&prepared);
        let vocabulary = Self::vocabulary_warnings(&prepared);
        let receipts = self
            .sequencer
            .append(
                caller.identity.clone(),
                caller.correction_rights(),
                prepared,
            )
            .await
            .map_err(|e| ServiceError::append(e, AppendLocation::Batch))?;
        let tokens: Vec<Option<[u8; 32]>> = receipts.iter().map(|r| r.subject_token).collect();
        self.deletions_appended(&deletions, &tokens);
        let mut receipts = self.receipts(receipts, request.include_bundle).await?;
        self.warn_about_consent(consent, &tokens, &mut receipts)
            .await?;
        self.warn_about_vocabulary(vocabulary, &mut receipts);
        Ok(Response::new(pb::AppendBatchResponse { receipts }))
    }
}
