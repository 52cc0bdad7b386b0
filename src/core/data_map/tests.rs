use super::*;
use crate::core::test_rng::Rng;
use crate::proto::v1::{Recipient, RecipientRole};

const DAY: i64 = SECONDS_PER_DAY;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

fn at(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn declared(
    name: &str,
    effective: i64,
    categories: &[&str],
    recipients: &[&str],
) -> SystemDeclaration {
    SystemDeclaration {
        name: name.to_owned(),
        owner: "ops".to_owned(),
        country: "DE".to_owned(),
        data_categories: strings(categories),
        recipients: strings(recipients),
        effective_at: Some(at(effective)),
        ..Default::default()
    }
}

fn withdrawal(name: &str, effective: i64) -> SystemDeclaration {
    SystemDeclaration {
        name: name.to_owned(),
        effective_at: Some(at(effective)),
        withdrawn: true,
        ..Default::default()
    }
}

fn collection(system: &str, seconds: i64, categories: &[&str], channel: &str) -> Event {
    Event {
        kind: EventKind::Collection as i32,
        system: system.to_owned(),
        occurred_at: Some(at(seconds)),
        data_categories: strings(categories),
        collection_channel: channel.to_owned(),
        ..Default::default()
    }
}

fn share(system: &str, seconds: i64, categories: &[&str], recipient: &str) -> Event {
    Event {
        kind: EventKind::Share as i32,
        system: system.to_owned(),
        occurred_at: Some(at(seconds)),
        data_categories: strings(categories),
        recipient: Some(Recipient {
            name: recipient.to_owned(),
            role: RecipientRole::Processor as i32,
            country: "US".to_owned(),
            transfer_basis: 2,
        }),
        ..Default::default()
    }
}

fn map(
    declarations: Vec<(u64, SystemDeclaration)>,
    events: &[(u64, Event)],
    as_of: i64,
    silent_days: i64,
) -> DataMap {
    let mut builder = DataMapBuilder::new(declarations, at(as_of), silent_days * DAY);
    for (index, event) in events {
        builder.observe(*index, event);
    }
    builder.finish()
}

fn flags(map: &DataMap) -> Vec<(FlagKind, &str, &str, u64)> {
    map.flags
        .iter()
        .map(|f| {
            (
                f.kind,
                f.system.as_str(),
                f.value.as_str(),
                f.seen.map_or(0, |s| s.entries),
            )
        })
        .collect()
}

#[test]
fn each_entry_is_checked_against_the_declaration_in_force_at_its_own_time() {
    // The CRM is declared with names only, then from day 10 with e-mail addresses too and the
    // mailer as a recipient.
    let declarations = vec![
        (0, declared("crm", T0, &["pd:Name"], &[])),
        (
            1,
            declared(
                "crm",
                T0 + 10 * DAY,
                &["pd:Name", "pd:EmailAddress"],
                &["mailer-us"],
            ),
        ),
    ];
    let events = vec![
        (
            2,
            collection("crm", T0 + DAY, &["pd:Name", "pd:EmailAddress"], "web-form"),
        ),
        (
            3,
            share("crm", T0 + 2 * DAY, &["pd:EmailAddress"], "mailer-us"),
        ),
        (
            4,
            collection(
                "crm",
                T0 + 11 * DAY,
                &["pd:Name", "pd:EmailAddress"],
                "web-form",
            ),
        ),
        (
            5,
            share("crm", T0 + 12 * DAY, &["pd:EmailAddress"], "mailer-us"),
        ),
        (6, share("crm", T0 + 13 * DAY, &["pd:Purchase"], "ads-eu")),
        // Before the CRM's first declaration: an undeclared system then.
        (7, collection("crm", T0 - DAY, &["pd:Name"], "")),
        // Never declared.
        (
            8,
            collection("shop", T0 + 3 * DAY, &["pd:Purchase"], "partner:acme"),
        ),
    ];
    let map = map(declarations, &events, T0 + 14 * DAY, 30);
    assert_eq!(
        flags(&map),
        [
            (FlagKind::UndeclaredSystem, "crm", "", 1),
            (FlagKind::UndeclaredSystem, "shop", "", 1),
            (FlagKind::UndeclaredCategory, "crm", "pd:EmailAddress", 2),
            (FlagKind::UndeclaredCategory, "crm", "pd:Purchase", 1),
            (FlagKind::UndeclaredRecipient, "crm", "ads-eu", 1),
            (FlagKind::UndeclaredRecipient, "crm", "mailer-us", 1),
        ]
    );
    let crm_email = &map.flags[2];
    assert_eq!(crm_email.seen.map(|s| (s.first.1, s.last.1)), Some((2, 3)));
    // The nodes: the CRM declared (the later declaration), the shop observed only.
    let names: Vec<_> = map
        .systems
        .iter()
        .map(|s| (s.name.as_str(), s.declared.as_ref().map(|(i, _)| *i)))
        .collect();
    assert_eq!(names, [("crm", Some(1)), ("shop", None)]);
    assert_eq!(map.systems[0].observed.map(|s| s.entries), Some(6));
    assert_eq!(map.systems[0].declared_since, Some((T0, 0)));
    // The flows.
    let channels: Vec<_> = map
        .collections
        .iter()
        .map(|(k, s)| (k.channel.as_str(), k.system.as_str(), s.entries))
        .collect();
    assert_eq!(
        channels,
        [
            ("", "crm", 1),
            ("partner:acme", "shop", 1),
            ("web-form", "crm", 2)
        ]
    );
    let shares: Vec<_> = map
        .shares
        .iter()
        .map(|(k, s)| (k.system.as_str(), k.recipient.as_str(), s.entries))
        .collect();
    assert_eq!(shares, [("crm", "ads-eu", 1), ("crm", "mailer-us", 2)]);
}

#[test]
fn a_declared_system_is_silent_after_the_days_without_an_entry() {
    let as_of = T0 + 100 * DAY;
    let declarations = || vec![(0, declared("crm", T0, &["pd:Name"], &[]))];
    let silent = |events: &[(u64, Event)], days: i64| {
        flags(&map(declarations(), events, as_of, days))
            .iter()
            .any(|(kind, ..)| *kind == FlagKind::SilentSystem)
    };
    assert!(silent(&[], 30), "never an entry");
    let last = |day: i64| vec![(1, collection("crm", T0 + day * DAY, &["pd:Name"], ""))];
    assert!(silent(&last(69), 30), "31 days");
    assert!(
        silent(&last(70), 30),
        "exactly 30 days: not within the last 30"
    );
    assert!(!silent(&last(71), 30), "29 days");
    assert!(!silent(&last(69), 40), "31 days, 40 allowed");
    // Other kinds do not count as the system's records.
    let mut consent = collection("crm", as_of - DAY, &["pd:Name"], "");
    consent.kind = EventKind::ConsentGiven as i32;
    assert!(silent(&[(1, consent)], 30));
    // A system declared less than the days ago is not silent yet.
    let recent = vec![(0, declared("crm", as_of - 10 * DAY, &["pd:Name"], &[]))];
    assert!(flags(&map(recent, &[], as_of, 30)).is_empty());
    // A new declaration does not restart the clock; a withdrawal does.
    let redeclared = vec![
        (0, declared("crm", T0, &["pd:Name"], &[])),
        (
            1,
            declared("crm", as_of - DAY, &["pd:Name", "pd:Purchase"], &[]),
        ),
    ];
    assert_eq!(
        flags(&map(redeclared, &[], as_of, 30)),
        [(FlagKind::SilentSystem, "crm", "", 0)]
    );
    let returned = vec![
        (0, declared("crm", T0, &["pd:Name"], &[])),
        (1, withdrawal("crm", T0 + 50 * DAY)),
        (2, declared("crm", as_of - DAY, &["pd:Name"], &[])),
    ];
    let returned = map(returned, &[], as_of, 30);
    assert!(returned.flags.is_empty());
    assert_eq!(returned.systems[0].declared_since, Some((as_of - DAY, 0)));
}

#[test]
fn a_withdrawn_system_leaves_the_map_and_its_later_entries_are_undeclared() {
    let declarations = vec![
        (0, declared("crm", T0, &["pd:Name"], &[])),
        (1, withdrawal("crm", T0 + 5 * DAY)),
    ];
    let events = vec![
        (2, collection("crm", T0 + DAY, &["pd:Name"], "")),
        (3, collection("crm", T0 + 6 * DAY, &["pd:Name"], "")),
    ];
    let withdrawn = map(declarations.clone(), &events, T0 + 7 * DAY, 30);
    assert_eq!(withdrawn.systems.len(), 1);
    assert_eq!(withdrawn.systems[0].declared, None);
    assert_eq!(
        flags(&withdrawn),
        [(FlagKind::UndeclaredSystem, "crm", "", 1)]
    );
    assert_eq!(withdrawn.flags[0].seen.map(|s| s.first.1), Some(3));
    // Before the withdrawal takes effect, the system is declared and its entry is not flagged.
    let before = map(declarations, &events[..1], T0 + 4 * DAY, 30);
    assert_eq!(
        before.systems[0].declared.as_ref().map(|(i, _)| *i),
        Some(0)
    );
    assert!(before.flags.is_empty());
}

#[test]
fn on_a_tie_of_effective_at_the_later_entry_is_in_force() {
    let declarations = vec![
        (3, declared("crm", T0, &["pd:Name"], &[])),
        (1, declared("crm", T0, &["pd:Purchase"], &[])),
    ];
    let events = vec![(4, collection("crm", T0 + DAY, &["pd:Purchase"], ""))];
    let map = map(declarations, &events, T0 + 2 * DAY, 30);
    assert_eq!(map.systems[0].declared.as_ref().map(|(i, _)| *i), Some(3));
    assert_eq!(
        flags(&map),
        [(FlagKind::UndeclaredCategory, "crm", "pd:Purchase", 1)]
    );
}

#[test]
fn the_systems_declared_at_a_time_are_the_maps_declared_systems() {
    let declarations = vec![
        (0, declared("crm", T0, &["pd:Name"], &[])),
        (1, declared("shop", T0 + DAY, &["pd:Purchase"], &[])),
        (2, declared("crm", T0 + 3 * DAY, &["pd:EmailAddress"], &[])),
        (3, withdrawal("shop", T0 + 5 * DAY)),
        (
            4,
            declared("mailer", T0 + 9 * DAY, &["pd:EmailAddress"], &[]),
        ),
    ];
    let indexes = |at_seconds: i64| -> Vec<(String, u64)> {
        declared_systems_at(declarations.clone(), &at(at_seconds))
            .into_iter()
            .map(|(index, d)| (d.name, index))
            .collect()
    };
    let named = |list: &[(&str, u64)]| -> Vec<(String, u64)> {
        list.iter().map(|(n, i)| ((*n).to_owned(), *i)).collect()
    };
    assert_eq!(indexes(T0 - 1), named(&[]));
    assert_eq!(indexes(T0 + DAY), named(&[("crm", 0), ("shop", 1)]));
    assert_eq!(indexes(T0 + 4 * DAY), named(&[("crm", 2), ("shop", 1)]));
    // The withdrawal takes the shop off; the mailer's declaration is not in force yet.
    assert_eq!(indexes(T0 + 6 * DAY), named(&[("crm", 2)]));
    for day in 0..12 {
        let as_of = T0 + day * DAY;
        let from_map: Vec<(String, u64)> = map(declarations.clone(), &[], as_of, 30)
            .systems
            .into_iter()
            .filter_map(|s| s.declared.map(|(index, _)| (s.name, index)))
            .collect();
        assert_eq!(indexes(as_of), from_map, "day {day}");
    }
}

// ---- The brute-force comparison ----

const SYSTEMS: [&str; 4] = ["crm", "billing", "shop", "mailer"];
const CATEGORIES: [&str; 4] = ["pd:Name", "pd:EmailAddress", "pd:Purchase", "pd:Health"];
const CHANNELS: [&str; 3] = ["web-form", "partner:acme", ""];
const RECIPIENTS: [&str; 3] = ["mailer-us", "ads-eu", "crm-cloud"];

fn random_time(rng: &mut Rng) -> i64 {
    // 120 days, on whole hours often enough for ties.
    T0 + rng.below(120 * 24) as i64 * 3600 + if rng.chance(20) { 1 } else { 0 }
}

fn random_declaration(rng: &mut Rng) -> SystemDeclaration {
    let name = rng.pick(&SYSTEMS);
    let effective = random_time(rng);
    if rng.chance(15) {
        return withdrawal(name, effective);
    }
    let mut categories = rng.subset(&CATEGORIES, 50);
    if categories.is_empty() {
        categories.push(CATEGORIES[0].to_owned());
    }
    SystemDeclaration {
        data_categories: categories,
        recipients: rng.subset(&RECIPIENTS, 40),
        ..declared(name, effective, &[], &[])
    }
}

fn random_event(rng: &mut Rng) -> Event {
    let system = rng.pick(&SYSTEMS);
    let time = random_time(rng);
    let categories = rng.subset(&CATEGORIES, 40);
    let categories: Vec<&str> = categories.iter().map(String::as_str).collect();
    let mut event = match rng.below(5) {
        0 | 1 => collection(system, time, &categories, rng.pick(&CHANNELS)),
        2 => share(system, time, &categories, rng.pick(&RECIPIENTS)),
        3 => Event {
            kind: EventKind::Access as i32,
            ..collection(system, time, &categories, "")
        },
        _ => Event {
            kind: EventKind::ConsentGiven as i32,
            ..collection(system, time, &categories, "")
        },
    };
    if let Some(recipient) = event.recipient.as_mut()
        && rng.chance(30)
    {
        recipient.country = "FR".to_owned();
        recipient.transfer_basis = 0;
    }
    event
}

/// The declaration of `system` in force at `t`, found the plain way: the greatest
/// `(effective_at, index)` not after `t`, none if it is a withdrawal.
fn plain_in_force<'a>(
    declarations: &'a [(u64, SystemDeclaration)],
    system: &str,
    t: Instant,
) -> Option<(u64, &'a SystemDeclaration)> {
    let mut best: Option<(Instant, u64, &SystemDeclaration)> = None;
    for (index, d) in declarations {
        let effective = instant(d.effective_at.as_ref());
        if d.name != system || effective > t {
            continue;
        }
        if best.is_none_or(|(e, i, _)| (effective, *index) > (e, i)) {
            best = Some((effective, *index, d));
        }
    }
    best.filter(|(_, _, d)| !d.withdrawn)
        .map(|(_, i, d)| (i, d))
}

fn plain_seen(found: &[(Instant, u64)]) -> Option<Seen> {
    Some(Seen {
        entries: found.len() as u64,
        first: *found.iter().min()?,
        last: *found.iter().max()?,
    })
}

fn brute_force(
    declarations: &[(u64, SystemDeclaration)],
    events: &[(u64, Event)],
    as_of: Instant,
    silent_after: i64,
) -> DataMap {
    let processing: Vec<&(u64, Event)> = events
        .iter()
        .filter(|(_, e)| is_processing_kind(e.kind()) && !e.system.is_empty())
        .collect();
    let when = |e: &Event| instant(e.occurred_at.as_ref());
    let mut names: BTreeSet<String> = processing.iter().map(|(_, e)| e.system.clone()).collect();
    for system in SYSTEMS {
        if plain_in_force(declarations, system, as_of).is_some() {
            names.insert(system.to_owned());
        }
    }
    let quiet_until = (as_of.0 - silent_after, as_of.1);
    let mut systems = Vec::new();
    let mut flags = Vec::new();
    for name in &names {
        let own: Vec<&&(u64, Event)> = processing
            .iter()
            .filter(|(_, e)| &e.system == name)
            .collect();
        let observed = plain_seen(&own.iter().map(|(i, e)| (when(e), *i)).collect::<Vec<_>>());
        let declared = plain_in_force(declarations, name, as_of).map(|(i, d)| (i, d.clone()));
        // Declared since: the earliest effective time from which the system was declared at
        // every effective time of its declarations up to as_of.
        let mut times: Vec<Instant> = declarations
            .iter()
            .filter(|(_, d)| &d.name == name)
            .map(|(_, d)| instant(d.effective_at.as_ref()))
            .filter(|t| *t <= as_of)
            .collect();
        times.sort();
        let declared_since = declared.as_ref().and_then(|_| {
            times.iter().copied().find(|start| {
                times
                    .iter()
                    .filter(|t| *t >= start)
                    .all(|t| plain_in_force(declarations, name, *t).is_some())
            })
        });
        let observed_categories = own
            .iter()
            .flat_map(|(_, e)| e.data_categories.iter().cloned())
            .collect();
        let recent = own.iter().any(|(_, e)| when(e) > quiet_until);
        if declared.is_some() && !recent && declared_since.is_some_and(|s| s <= quiet_until) {
            flags.push(Flag {
                kind: FlagKind::SilentSystem,
                system: name.clone(),
                value: String::new(),
                seen: observed,
            });
        }
        systems.push(SystemNode {
            name: name.clone(),
            declared,
            declared_since,
            observed,
            observed_categories,
        });
    }
    let mut collections = BTreeMap::<ChannelKey, Vec<(Instant, u64)>>::new();
    let mut shares = BTreeMap::<RecipientKey, Vec<(Instant, u64)>>::new();
    let mut flagged = BTreeMap::<(FlagKind, String, String), Vec<(Instant, u64)>>::new();
    for (index, e) in &processing {
        let seen = (when(e), *index);
        if e.kind() == EventKind::Collection {
            collections
                .entry(ChannelKey {
                    channel: e.collection_channel.clone(),
                    system: e.system.clone(),
                })
                .or_default()
                .push(seen);
        }
        if let Some(r) = &e.recipient {
            shares
                .entry(RecipientKey {
                    system: e.system.clone(),
                    recipient: r.name.clone(),
                    role: r.role,
                    country: r.country.clone(),
                })
                .or_default()
                .push(seen);
        }
        let mut flag = |kind, value: &str| {
            flagged
                .entry((kind, e.system.clone(), value.to_owned()))
                .or_default()
                .push(seen)
        };
        match plain_in_force(declarations, &e.system, when(e)) {
            None => flag(FlagKind::UndeclaredSystem, ""),
            Some((_, d)) => {
                for c in e
                    .data_categories
                    .iter()
                    .filter(|c| !d.data_categories.contains(c))
                {
                    flag(FlagKind::UndeclaredCategory, c);
                }
                if let Some(r) = e
                    .recipient
                    .as_ref()
                    .filter(|r| !d.recipients.contains(&r.name))
                {
                    flag(FlagKind::UndeclaredRecipient, &r.name);
                }
            }
        }
    }
    for ((kind, system, value), found) in flagged {
        flags.push(Flag {
            kind,
            system,
            value,
            seen: plain_seen(&found),
        });
    }
    flags.sort_by(|a, b| (a.kind, &a.system, &a.value).cmp(&(b.kind, &b.system, &b.value)));
    let seen_of = |found: Vec<(Instant, u64)>| plain_seen(&found).unwrap_or(Seen::one((0, 0), 0));
    DataMap {
        systems,
        collections: collections
            .into_iter()
            .map(|(k, f)| (k, seen_of(f)))
            .collect(),
        shares: shares.into_iter().map(|(k, f)| (k, seen_of(f))).collect(),
        flags,
    }
}

#[test]
fn the_map_is_the_brute_force_pass_over_a_seeded_population() {
    let seed = 0x5eed_da7a_u64;
    let mut rng = Rng(seed);
    let mut flagged = [0usize; 4];
    for round in 0..200 {
        let mut index = 0u64;
        let mut declarations = Vec::new();
        let mut events = Vec::new();
        for _ in 0..rng.below(12) {
            declarations.push((index, random_declaration(&mut rng)));
            index += 1;
            for _ in 0..rng.below(8) {
                events.push((index, random_event(&mut rng)));
                index += 1;
            }
        }
        for _ in 0..rng.below(20) {
            events.push((index, random_event(&mut rng)));
            index += 1;
        }
        for _ in 0..4 {
            let as_of = random_time(&mut rng) + 10 * DAY;
            let silent_after = (1 + rng.below(60) as i64) * DAY;
            let mut builder = DataMapBuilder::new(declarations.clone(), at(as_of), silent_after);
            for (index, event) in &events {
                builder.observe(*index, event);
            }
            let got = builder.finish();
            let want = brute_force(&declarations, &events, (as_of, 0), silent_after);
            assert_eq!(got, want, "seed {seed:#x}, round {round}, as_of {as_of}");
            for flag in &got.flags {
                flagged[flag.kind as usize] += 1;
            }
        }
    }
    // The population reaches every kind of flag.
    assert!(flagged.iter().all(|n| *n > 20), "{flagged:?}");
}
