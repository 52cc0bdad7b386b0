//! The deadline of a data subject request (article 12(3) GDPR), a pure function of the time of
//! receipt and the declared policy (`docs/requests.md`).
//!
//! Article 12(3) gives the controller "one month of receipt of the request", which "may be
//! extended by two further months". Periods are counted under Regulation (EEC, Euratom) No
//! 1182/71 as the EDPB reads it for article 12(3) (Guidelines 01/2022 on the right of access,
//! section 5.3):
//!
//! - the period starts on the day of receipt, in the controller's time zone;
//! - a month later is the same day-number of the next month, or that month's last day when the
//!   day does not exist (received on 31 January, due on 28 February, or 29 in a leap year);
//! - an extension of one or two further months is added to the original due date, counted the
//!   same way, before any move to a working day (the move is of the period's end, article 3(4));
//! - a due date on a Saturday, a Sunday or a declared public holiday moves to the next working
//!   day (article 3(4));
//! - the request is overdue once the due day has ended in the policy's time zone: an `as_of` at
//!   or after the next midnight there.
//!
//! Nothing here reads a clock or the machine's time zone files: the time zones are jiff's bundled
//! copy of the IANA database, so every machine and every auditor computes the same dates.

use std::collections::BTreeSet;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// The longest extension article 12(3) allows: two further months.
pub const MAX_EXTENSION_MONTHS: u32 = 2;

/// Most public holidays one policy may declare (decades of a country's holidays).
pub const MAX_HOLIDAYS: usize = 4096;

/// Why a policy or a deadline cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    /// The time zone is not a name of the IANA database (e.g. "Europe/Berlin").
    #[error("{name:?} is not a time zone of the IANA database (e.g. \"Europe/Berlin\")")]
    UnknownTimeZone { name: String },
    /// A public holiday is not a date of the form YYYY-MM-DD.
    #[error("public holiday {text:?} is not a date of the form YYYY-MM-DD")]
    BadHoliday { text: String },
    /// More public holidays than [`MAX_HOLIDAYS`].
    #[error("{count} public holidays, more than {MAX_HOLIDAYS}")]
    TooManyHolidays { count: usize },
    /// An extension of more than two further months.
    #[error("an extension is of 1 or 2 further months (article 12(3)), not {months}")]
    BadExtension { months: u32 },
    /// A time outside the range of dates this module counts in (years -9999 to 9999).
    #[error("the time {seconds}s since the epoch is outside the calendar's range")]
    OutOfRange { seconds: i64 },
}

/// The rules a deadline is counted under: the controller's time zone and public holidays, as the
/// policy in force declares them.
#[derive(Debug, Clone)]
pub struct DeadlinePolicy {
    time_zone: TimeZone,
    holidays: BTreeSet<Date>,
}

/// A request's deadlines: the original due date and, when extended, the extended one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDates {
    /// The day the request was received, in the policy's time zone.
    pub received_on: Date,
    /// One month from receipt, moved to a working day.
    pub original: Date,
    /// The due date in force: `original`, or the extended date moved to a working day.
    pub due: Date,
}

impl DeadlinePolicy {
    /// A policy of the IANA time zone `time_zone` and the public holidays `holidays`
    /// (YYYY-MM-DD dates of that zone).
    pub fn new<S: AsRef<str>>(time_zone: &str, holidays: &[S]) -> Result<Self, DeadlineError> {
        let time_zone = time_zone_named(time_zone)?;
        if holidays.len() > MAX_HOLIDAYS {
            return Err(DeadlineError::TooManyHolidays {
                count: holidays.len(),
            });
        }
        let holidays = holidays
            .iter()
            .map(|text| parse_date(text.as_ref()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(DeadlinePolicy {
            time_zone,
            holidays,
        })
    }

    /// Days counted in UTC, with no public holidays.
    pub fn utc() -> Self {
        DeadlinePolicy {
            time_zone: TimeZone::UTC,
            holidays: BTreeSet::new(),
        }
    }

    /// The day `at` falls on in the policy's time zone.
    pub fn day_of(&self, at: &prost_types::Timestamp) -> Result<Date, DeadlineError> {
        Ok(to_timestamp(at)?
            .to_zoned_datetime(self.time_zone.clone())
            .date())
    }

    /// Whether `day` is a working day: neither a Saturday, a Sunday nor a public holiday.
    pub fn is_working_day(&self, day: Date) -> bool {
        !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&day)
    }

    /// `day`, or the next working day after it.
    pub fn next_working_day(&self, day: Date) -> Result<Date, DeadlineError> {
        let mut day = day;
        while !self.is_working_day(day) {
            day = day.tomorrow().map_err(|_| out_of_range_date(day))?;
        }
        Ok(day)
    }

    /// The due dates of a request received at `received_at` and extended by `extension_months`
    /// (0, 1 or 2) further months.
    pub fn due_dates(
        &self,
        received_at: &prost_types::Timestamp,
        extension_months: u32,
    ) -> Result<DueDates, DeadlineError> {
        if extension_months > MAX_EXTENSION_MONTHS {
            return Err(DeadlineError::BadExtension {
                months: extension_months,
            });
        }
        let received_on = self.day_of(received_at)?;
        let month_end = add_months(received_on, 1)?;
        let original = self.next_working_day(month_end)?;
        let due = if extension_months == 0 {
            original
        } else {
            self.next_working_day(add_months(month_end, extension_months)?)?
        };
        Ok(DueDates {
            received_on,
            original,
            due,
        })
    }

    /// The first instant after `day` in the policy's time zone (the next day's start, which a
    /// change of offset may move from midnight).
    pub fn end_of_day(&self, day: Date) -> Result<Timestamp, DeadlineError> {
        let next = day.tomorrow().map_err(|_| out_of_range_date(day))?;
        let start = next
            .to_zoned_datetime(self.time_zone.clone())
            .and_then(|zoned| zoned.start_of_day())
            .map_err(|_| out_of_range_date(next))?;
        Ok(start.timestamp())
    }

    /// Whether `at` is after the end of `day` in the policy's time zone.
    pub fn is_after_day(
        &self,
        at: &prost_types::Timestamp,
        day: Date,
    ) -> Result<bool, DeadlineError> {
        Ok(to_timestamp(at)? >= self.end_of_day(day)?)
    }
}

/// The time zone of an IANA name, from jiff's bundled database.
pub fn time_zone_named(name: &str) -> Result<TimeZone, DeadlineError> {
    TimeZone::get(name).map_err(|_| DeadlineError::UnknownTimeZone {
        name: name.to_owned(),
    })
}

/// A date written YYYY-MM-DD.
pub fn parse_date(text: &str) -> Result<Date, DeadlineError> {
    let bad = || DeadlineError::BadHoliday {
        text: text.to_owned(),
    };
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Result<i16, DeadlineError> {
        let part = &text[range];
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i16>().map_err(|_| bad())
    };
    let year = number(0..4)?;
    let month = i8::try_from(number(5..7)?).map_err(|_| bad())?;
    let day = i8::try_from(number(8..10)?).map_err(|_| bad())?;
    Date::new(year, month, day).map_err(|_| bad())
}

/// `day` plus `months` months: the same day-number, or the month's last day when it has none.
pub fn add_months(day: Date, months: u32) -> Result<Date, DeadlineError> {
    day.checked_add(Span::new().months(i64::from(months)))
        .map_err(|_| out_of_range_date(day))
}

fn to_timestamp(at: &prost_types::Timestamp) -> Result<Timestamp, DeadlineError> {
    Timestamp::new(at.seconds, at.nanos).map_err(|_| DeadlineError::OutOfRange {
        seconds: at.seconds,
    })
}

fn out_of_range_date(day: Date) -> DeadlineError {
    DeadlineError::OutOfRange {
        seconds: day
            .to_zoned_datetime(TimeZone::UTC)
            .map(|zoned| zoned.timestamp().as_second())
            .unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        parse_date(text).expect("a test date")
    }

    /// An instant written as RFC 3339 (UTC or with an offset).
    fn at(text: &str) -> prost_types::Timestamp {
        let ts: Timestamp = text.parse().expect("a test instant");
        prost_types::Timestamp {
            seconds: ts.as_second(),
            nanos: ts.subsec_nanosecond(),
        }
    }

    fn utc() -> DeadlinePolicy {
        DeadlinePolicy::new::<&str>("UTC", &[]).expect("UTC")
    }

    fn due(policy: &DeadlinePolicy, received: &str, months: u32) -> Date {
        policy.due_dates(&at(received), months).expect("due").due
    }

    #[test]
    fn a_month_is_the_same_day_number_of_the_next_month() {
        let p = utc();
        // 2027-03-05 is a Friday.
        assert_eq!(due(&p, "2027-02-05T10:00:00Z", 0), date("2027-03-05"));
        assert_eq!(due(&p, "2027-06-15T00:00:00Z", 0), date("2027-07-15"));
        // Received at the last nanosecond of a day: still that day.
        assert_eq!(
            due(&p, "2027-06-15T23:59:59.999999999Z", 0),
            date("2027-07-15")
        );
    }

    #[test]
    fn a_day_number_the_next_month_lacks_is_its_last_day() {
        let p = utc();
        // 2027 is not a leap year: 31 January is due on Sunday 28 February, moved to Monday.
        let dates = p.due_dates(&at("2027-01-31T12:00:00Z"), 0).expect("due");
        assert_eq!(dates.received_on, date("2027-01-31"));
        assert_eq!(dates.original, date("2027-03-01"));
        // 2026-02-28 is a Saturday -> Monday 2 March.
        assert_eq!(due(&p, "2026-01-31T12:00:00Z", 0), date("2026-03-02"));
        // 2030-02-28 is a Thursday: due that day.
        assert_eq!(due(&p, "2030-01-29T12:00:00Z", 0), date("2030-02-28"));
        assert_eq!(due(&p, "2030-01-30T12:00:00Z", 0), date("2030-02-28"));
        assert_eq!(due(&p, "2030-01-31T12:00:00Z", 0), date("2030-02-28"));
        // 31 March -> 30 April (2031-04-30 is a Wednesday); 31 May -> 30 June (2027: Wednesday).
        assert_eq!(due(&p, "2031-03-31T12:00:00Z", 0), date("2031-04-30"));
        assert_eq!(due(&p, "2027-05-31T12:00:00Z", 0), date("2027-06-30"));
        // 31 August -> 30 September (2027: Thursday).
        assert_eq!(due(&p, "2027-08-31T12:00:00Z", 0), date("2027-09-30"));
    }

    #[test]
    fn leap_years_give_february_its_29th() {
        let p = utc();
        // 2028-02-29 is a Tuesday.
        assert_eq!(due(&p, "2028-01-29T08:00:00Z", 0), date("2028-02-29"));
        assert_eq!(due(&p, "2028-01-30T08:00:00Z", 0), date("2028-02-29"));
        assert_eq!(due(&p, "2028-01-31T08:00:00Z", 0), date("2028-02-29"));
        // Received on the 29th itself: 29 March (a Wednesday).
        assert_eq!(due(&p, "2028-02-29T08:00:00Z", 0), date("2028-03-29"));
        // 2100 is not a leap year (divisible by 100): 2100-02-28 is a Sunday -> Monday 1 March.
        assert_eq!(due(&p, "2100-01-31T08:00:00Z", 0), date("2100-03-01"));
        // 2000 was (divisible by 400): 2000-02-29 was a Tuesday.
        assert_eq!(due(&p, "2000-01-31T08:00:00Z", 0), date("2000-02-29"));
    }

    #[test]
    fn a_period_crosses_the_year_end() {
        let p = utc();
        // 2027-12-31 -> 2028-01-31 (a Monday).
        assert_eq!(due(&p, "2027-12-31T22:00:00Z", 0), date("2028-01-31"));
        // 2026-12-01 -> 2027-01-01 (a Friday, no holiday declared): due that day.
        assert_eq!(due(&p, "2026-12-01T09:00:00Z", 0), date("2027-01-01"));
        // Extended by two months across the year: 2027-11-30 -> 2027-12-30 -> 2028-02-29.
        assert_eq!(due(&p, "2027-11-30T09:00:00Z", 2), date("2028-02-29"));
    }

    #[test]
    fn weekends_move_to_monday() {
        let p = utc();
        // 2027-03-06 Saturday, 2027-03-07 Sunday: both due on Monday 8 March.
        assert_eq!(due(&p, "2027-02-06T09:00:00Z", 0), date("2027-03-08"));
        assert_eq!(due(&p, "2027-02-07T09:00:00Z", 0), date("2027-03-08"));
        assert_eq!(due(&p, "2027-02-08T09:00:00Z", 0), date("2027-03-08"));
        // Every day of two years: the due date is a working day, on or after the month's end,
        // and no more than two days after it when there are no holidays.
        let mut day = date("2027-01-01");
        while day < date("2029-01-01") {
            let received = day
                .to_zoned_datetime(TimeZone::UTC)
                .expect("zoned")
                .timestamp();
            let received = prost_types::Timestamp {
                seconds: received.as_second() + 3600,
                nanos: 0,
            };
            let dates = p.due_dates(&received, 0).expect("due");
            let month_end = add_months(day, 1).expect("month");
            assert!(p.is_working_day(dates.due), "{day}: {}", dates.due);
            assert!(dates.due >= month_end, "{day}");
            assert!(
                dates.due <= month_end.checked_add(Span::new().days(2)).expect("days"),
                "{day}"
            );
            day = day.tomorrow().expect("tomorrow");
        }
    }

    #[test]
    fn public_holidays_move_to_the_next_working_day() {
        // German federal holidays of spring 2027: Good Friday 26 March, Easter Monday 29 March,
        // Labour Day 1 May (a Saturday), Ascension 6 May.
        let p = DeadlinePolicy::new(
            "Europe/Berlin",
            &["2027-03-26", "2027-03-29", "2027-05-01", "2027-05-06"],
        )
        .expect("policy");
        // Due on Good Friday -> over the weekend and Easter Monday -> Tuesday 30 March.
        assert_eq!(due(&p, "2027-02-26T09:00:00Z", 0), date("2027-03-30"));
        // Due on Ascension (a Thursday) -> Friday 7 May.
        assert_eq!(due(&p, "2027-04-06T09:00:00Z", 0), date("2027-05-07"));
        // A holiday on a Saturday changes nothing more: due Monday 3 May.
        assert_eq!(due(&p, "2027-04-01T09:00:00Z", 0), date("2027-05-03"));
        // The same requests under a policy without holidays.
        let plain = DeadlinePolicy::new::<&str>("Europe/Berlin", &[]).expect("policy");
        assert_eq!(due(&plain, "2027-02-26T09:00:00Z", 0), date("2027-03-26"));
        assert_eq!(due(&plain, "2027-04-06T09:00:00Z", 0), date("2027-05-06"));
        // A run of holidays: every day of a week declared a holiday.
        let week: Vec<String> = (12..=16).map(|d| format!("2027-04-{d}")).collect();
        let p = DeadlinePolicy::new("UTC", &week).expect("policy");
        assert_eq!(due(&p, "2027-03-12T09:00:00Z", 0), date("2027-04-19"));
    }

    #[test]
    fn extensions_add_months_to_the_unmoved_original_date() {
        let p = utc();
        // 2027-01-31: original 2027-02-28 (Sunday, so due Monday 1 March); one month more is
        // counted from 28 February: 28 March (a Sunday) -> Monday 29 March; two: 28 April.
        let one = p.due_dates(&at("2027-01-31T09:00:00Z"), 1).expect("due");
        assert_eq!(one.original, date("2027-03-01"));
        assert_eq!(one.due, date("2027-03-29"));
        assert_eq!(due(&p, "2027-01-31T09:00:00Z", 2), date("2027-04-28"));
        // A plain case: 2027-05-10 -> 2027-06-10 -> 2027-07-12 (10 July is a Saturday) / 2027-08-10.
        assert_eq!(due(&p, "2027-05-10T09:00:00Z", 1), date("2027-07-12"));
        assert_eq!(due(&p, "2027-05-10T09:00:00Z", 2), date("2027-08-10"));
        // Leap year: 2027-12-29 -> 2028-01-29 (Saturday: the original moves to the 31st) ->
        // extended from the 29th: 2028-02-29 (Tuesday) and 2028-03-29 (Wednesday).
        let leap = p.due_dates(&at("2027-12-29T09:00:00Z"), 1).expect("due");
        assert_eq!(leap.original, date("2028-01-31"));
        assert_eq!(leap.due, date("2028-02-29"));
        assert_eq!(due(&p, "2027-12-29T09:00:00Z", 2), date("2028-03-29"));
        // Three months are refused.
        assert_eq!(
            p.due_dates(&at("2027-05-10T09:00:00Z"), 3),
            Err(DeadlineError::BadExtension { months: 3 })
        );
    }

    #[test]
    fn the_day_of_receipt_is_the_policys_day() {
        let berlin = DeadlinePolicy::new::<&str>("Europe/Berlin", &[]).expect("policy");
        let utc = utc();
        // 23:30 UTC on 31 January 2030 is 00:30 on 1 February in Berlin (CET, +01:00).
        let late = "2030-01-31T23:30:00Z";
        assert_eq!(due(&utc, late, 0), date("2030-02-28"));
        assert_eq!(due(&berlin, late, 0), date("2030-03-01"));
        // 2027-03-28 is the day Berlin moves to CEST (+02:00): 22:30 UTC is already 29 March.
        let dates = berlin
            .due_dates(&at("2027-03-28T22:30:00Z"), 0)
            .expect("due");
        assert_eq!(dates.received_on, date("2027-03-29"));
        assert_eq!(dates.due, date("2027-04-29"));
        // The day before the change, 22:30 UTC is 23:30 CET: still 27 March.
        let dates = berlin
            .due_dates(&at("2027-03-27T22:30:00Z"), 0)
            .expect("due");
        assert_eq!(dates.received_on, date("2027-03-27"));
        // Far west: 03:00 UTC on 1 March 2027 is still 28 February in Los Angeles.
        let la = DeadlinePolicy::new::<&str>("America/Los_Angeles", &[]).expect("policy");
        let dates = la.due_dates(&at("2027-03-01T03:00:00Z"), 0).expect("due");
        assert_eq!(dates.received_on, date("2027-02-28"));
        // 28 March 2027 is a Sunday -> Monday 29 March.
        assert_eq!(dates.due, date("2027-03-29"));
    }

    #[test]
    fn overdue_after_the_due_day_ends_in_the_zone() {
        let berlin = DeadlinePolicy::new::<&str>("Europe/Berlin", &[]).expect("policy");
        // 26 March 2027 (a Friday, CET): ends at 23:00 UTC.
        let day = date("2027-03-26");
        let end = berlin.end_of_day(day).expect("end");
        assert_eq!(end.to_string(), "2027-03-26T23:00:00Z");
        assert!(
            !berlin
                .is_after_day(&at("2027-03-26T22:59:59.999999999Z"), day)
                .expect("t")
        );
        assert!(
            berlin
                .is_after_day(&at("2027-03-26T23:00:00Z"), day)
                .expect("t")
        );
        // Monday 29 March 2027, after the change to CEST: ends at 22:00 UTC.
        let day = date("2027-03-29");
        assert_eq!(
            berlin.end_of_day(day).expect("end").to_string(),
            "2027-03-29T22:00:00Z"
        );
        // The day of the change itself is 23 hours long: 28 March ends at 22:00 UTC too.
        let change = date("2027-03-28");
        assert_eq!(
            berlin.end_of_day(change).expect("end").to_string(),
            "2027-03-28T22:00:00Z"
        );
        // October's change back: 31 October 2027 is 25 hours long and ends at 23:00 UTC.
        let back = date("2027-10-31");
        assert_eq!(
            berlin.end_of_day(back).expect("end").to_string(),
            "2027-10-31T23:00:00Z"
        );
        // Santiago moves its clocks at midnight: on 2027-09-05 there is no 00:00, the day
        // starts at 01:00 (-03:00), so 4 September ends at 04:00 UTC.
        let santiago = DeadlinePolicy::new::<&str>("America/Santiago", &[]).expect("policy");
        let end = santiago.end_of_day(date("2027-09-04")).expect("end");
        assert_eq!(end.to_string(), "2027-09-05T04:00:00Z");
    }

    #[test]
    fn policies_refuse_unknown_zones_and_bad_holidays() {
        assert_eq!(
            DeadlinePolicy::new::<&str>("Mars/Olympus_Mons", &[]).map(|_| ()),
            Err(DeadlineError::UnknownTimeZone {
                name: "Mars/Olympus_Mons".to_owned()
            })
        );
        for bad in [
            "2027-02-30",
            "2027-2-03",
            "27-02-03",
            "2027/02/03",
            "2027-02-0x",
            "+027-02-03",
        ] {
            assert_eq!(
                DeadlinePolicy::new("UTC", &[bad]).map(|_| ()),
                Err(DeadlineError::BadHoliday {
                    text: bad.to_owned()
                }),
                "{bad}"
            );
        }
        let many: Vec<String> = (0..=MAX_HOLIDAYS)
            .map(|_| "2027-01-01".to_owned())
            .collect();
        assert!(matches!(
            DeadlinePolicy::new("UTC", &many),
            Err(DeadlineError::TooManyHolidays { .. })
        ));
        // Times far outside the calendar are refused, not a panic.
        let far = prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert!(matches!(
            utc().due_dates(&far, 0),
            Err(DeadlineError::OutOfRange { .. })
        ));
        // The zone's files are jiff's bundled copy: these zones resolve on any machine.
        for zone in [
            "Europe/Berlin",
            "Europe/Dublin",
            "America/Santiago",
            "Asia/Kolkata",
        ] {
            assert!(time_zone_named(zone).is_ok(), "{zone}");
        }
    }
}
