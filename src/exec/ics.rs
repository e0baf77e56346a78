//! The calendar as iCalendar (RFC 5545), for `luna calendar export`: any calendar
//! program can import LUNA's events. Built with the `icalendar` crate.

use chrono::{NaiveDate, NaiveTime, TimeZone};
use icalendar::{Calendar, Component, Event, EventLike};

use crate::store::CalendarEvent;

/// How long a timed event lasts when nobody said (one hour, as calendars assume).
const DEFAULT_LENGTH: chrono::Duration = chrono::Duration::hours(1);

/// The events as one VCALENDAR. Timed events are written in UTC (converted from this
/// machine's zone), all-day events as dates; each has a stable UID from its row id.
pub fn to_icalendar(events: &[CalendarEvent], host: &str) -> String {
    let mut calendar = Calendar::new();
    calendar.name("LUNA");
    for e in events {
        let Ok(day) = NaiveDate::parse_from_str(&e.day, "%Y-%m-%d") else {
            continue;
        };
        let mut event = Event::new();
        event.uid(&format!("luna-event-{}@{host}", e.id));
        event.summary(&e.title);
        let start = e
            .time
            .as_deref()
            .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
            .and_then(|t| {
                chrono::Local
                    .from_local_datetime(&day.and_time(t))
                    .earliest()
            });
        match start {
            Some(start) => {
                let start = start.with_timezone(&chrono::Utc);
                event.starts(start);
                event.ends(start + DEFAULT_LENGTH);
            }
            None => {
                event.all_day(day);
            }
        }
        if let Some(place) = &e.place {
            event.location(place);
        }
        if let Some(with) = &e.with_whom {
            event.description(&format!("With {with}"));
        }
        calendar.push(event.done());
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_an_icalendar_file() {
        let events = vec![
            CalendarEvent {
                id: 7,
                title: "lunch".into(),
                day: "2027-03-05".into(),
                time: Some("12:30".into()),
                place: Some("the cafe".into()),
                with_whom: Some("sarah".into()),
            },
            CalendarEvent {
                id: 8,
                title: "holiday".into(),
                day: "2027-03-06".into(),
                time: None,
                place: None,
                with_whom: None,
            },
        ];
        let ics = to_icalendar(&events, "test");
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
        assert!(ics.contains("SUMMARY:lunch\r\n"), "{ics}");
        assert!(ics.contains("UID:luna-event-7@test\r\n"), "{ics}");
        assert!(ics.contains("LOCATION:the cafe\r\n"), "{ics}");
        assert!(ics.contains("DTSTART;VALUE=DATE:20270306\r\n"), "{ics}");
        let start = chrono::Local
            .from_local_datetime(
                &NaiveDate::from_ymd_opt(2027, 3, 5)
                    .unwrap()
                    .and_hms_opt(12, 30, 0)
                    .unwrap(),
            )
            .earliest()
            .unwrap()
            .with_timezone(&chrono::Utc)
            .format("DTSTART:%Y%m%dT%H%M%SZ\r\n")
            .to_string();
        assert!(ics.contains(&start), "{ics} lacks {start}");
        assert!(ics.trim_end().ends_with("END:VCALENDAR"), "{ics}");
    }
}
