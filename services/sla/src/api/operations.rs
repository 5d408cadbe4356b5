//! Operators' verbs: replaying a dead letter, reading and updating business calendars
//! (a new year's holidays published at run time), and working-day deadline arithmetic.

use aftersales_proto::aftersales::sla::v1::{
    Calendar, CalendarYear, ComputeDeadlineRequest, ComputeDeadlineResponse, DeadLetter,
    GetCalendarRequest, ReplayDeadLetterRequest, UpsertCalendarYearRequest,
};
use chrono::Utc;
use kit::{
    Error,
    auth::Principal,
    error::Violations,
    time::{from_ts, ts},
};

use super::{Api, owner_scope};
use crate::{calendars, domain::Point, parse, render, store};

pub(super) async fn replay_dead_letter(
    api: &Api,
    who: &Principal,
    r: ReplayDeadLetterRequest,
) -> kit::Result<DeadLetter> {
    let id = parse::dead_letter_id("name", &r.name)?;
    let mut tx = api.pool.begin().await?;
    let not_found = || Error::NotFound {
        resource: "dead letter",
        name: r.name.clone(),
    };
    let dl = store::lock_dead_letter(&mut tx, id)
        .await?
        .filter(|d| owner_scope(who).is_none_or(|o| o == d.owner))
        .ok_or_else(not_found)?;
    if dl.replayed_at.is_some() {
        // Replaying twice is answered with the first replay (a retried click).
        return Ok(render::dead_letter(&dl));
    }
    // An expiry replay changes the timer, so it is locked. A reminder replay only reads
    // it: holding its lock across the owner's call would stall the engine's recording
    // and deadlock an owner that changes the timer from inside its callback.
    let before = if dl.point < 0 {
        store::lock(&mut tx, dl.timer_id).await
    } else {
        store::get(&api.pool, dl.timer_id).await
    }?
    .ok_or_else(not_found)?;
    let not_replayable = |description: &str| Error::FailedPrecondition {
        reason: "DEAD_LETTER_NOT_REPLAYABLE",
        kind: "STATE",
        subject: r.name.clone(),
        description: description.into(),
    };
    if before.generation != dl.generation {
        return Err(not_replayable(
            "the timer was rescheduled or resumed since: its clock has moved on",
        ));
    }
    if dl.point >= 0 {
        // A reminder: the timer went on to its next event when this one was parked.
        // Worth repeating only while that clock still runs.
        if !["scheduled", "paused"].contains(&before.state.as_str()) {
            return Err(not_replayable(&format!(
                "the timer is {}: a reminder of it is moot",
                before.state
            )));
        }
        // Delivered now, with the dead letter (only) locked: a second click waits and
        // then answers with this replay instead of delivering again.
        api.engine
            .replay_reminder(
                &before,
                Point::from_db(dl.point),
                &dl.delivery_id,
                dl.attempts as u32 + 1,
            )
            .await
            .map_err(|e| Error::Unavailable(format!("the owner did not take the reminder: {e}")))?;
        let dl = store::mark_replayed(&mut tx, id).await?;
        tx.commit().await?;
        return Ok(render::dead_letter(&dl));
    }
    if before.state != "dead_letter" {
        return Err(not_replayable(
            "only the expiry of a timer still parked can be replayed; its clock has moved on",
        ));
    }
    let mut after = before.clone();
    after.state = "scheduled".into();
    after.next_point = Some(-1);
    after.next_fire_at = Some(Utc::now());
    after.attempts = 0;
    after.last_error = None;
    store::update(&mut tx, &after).await?;
    let dl = store::mark_replayed(&mut tx, id).await?;
    tx.commit().await?;
    api.sync(&before, &after).await;
    Ok(render::dead_letter(&dl))
}

pub(super) fn get_calendar(api: &Api, r: GetCalendarRequest) -> kit::Result<Calendar> {
    let name = parse::calendar_name("name", &r.name)?;
    let cal = api.calendars.get(&name).ok_or(Error::NotFound {
        resource: "calendar",
        name: r.name.clone(),
    })?;
    let years = cal
        .years()
        .into_iter()
        .filter(|y| r.year == 0 || *y == r.year as i32)
        .filter_map(|y| cal.schedule(y))
        .map(|s| CalendarYear {
            year: s.year as u32,
            holidays: s.holidays.iter().map(|h| h.date.to_string()).collect(),
            makeup_working_days: s
                .makeup_working_days
                .iter()
                .map(|d| d.to_string())
                .collect(),
            update_time: None,
        })
        .collect();
    Ok(Calendar {
        name: r.name,
        time_zone: cal.zone().to_string(),
        years,
    })
}

pub(super) async fn upsert_calendar_year(
    api: &Api,
    r: UpsertCalendarYearRequest,
) -> kit::Result<Calendar> {
    let name = parse::calendar_name("calendar", &r.calendar)?;
    let year = r
        .year
        .clone()
        .ok_or_else(|| Error::invalid("year", "is required"))?;
    if !(2000..=2100).contains(&year.year) {
        return Err(Error::invalid("year.year", "must be between 2000 and 2100"));
    }
    api.calendars
        .apply_year(
            &name,
            year.year as i32,
            &year.holidays,
            &year.makeup_working_days,
        )
        .map_err(|e| match e {
            calendars::YearError::UnknownCalendar(_) => Error::NotFound {
                resource: "calendar",
                name: r.calendar.clone(),
            },
            calendars::YearError::Invalid { field, message } => Error::invalid(field, message),
        })?;
    let holidays: Vec<(String, String)> = year
        .holidays
        .iter()
        .map(|d| (d.clone(), "holiday".into()))
        .collect();
    store::upsert_calendar_year(
        &api.pool,
        &name,
        year.year as i32,
        &holidays,
        &year.makeup_working_days,
    )
    .await?;
    get_calendar(
        api,
        GetCalendarRequest {
            name: r.calendar,
            year: year.year,
        },
    )
}

pub(super) fn compute_deadline(
    api: &Api,
    r: ComputeDeadlineRequest,
) -> kit::Result<ComputeDeadlineResponse> {
    let mut v = Violations::new();
    let start = match r.start_time.as_ref().map(from_ts) {
        None => Utc::now(),
        Some(Some(t)) => t,
        Some(None) => {
            v.add("start_time", "is not a valid timestamp");
            Utc::now()
        }
    };
    let wd = r.working_days.clone().unwrap_or_default();
    if wd.days == 0 || wd.days > 2000 {
        v.add("working_days.days", "must be between 1 and 2000");
    }
    v.finish()?;
    let cal_name = if wd.calendar.is_empty() {
        calendars::DEFAULT.to_string()
    } else {
        wd.calendar
    };
    let result = api
        .calendars
        .with(&cal_name, |c| c.add_working_days(start, wd.days))
        .ok_or_else(|| Error::invalid("working_days.calendar", "unknown calendar"))?;
    Ok(ComputeDeadlineResponse {
        due_time: Some(ts(result.value)),
        fell_back_to_weekends: !result.fallback_years.is_empty(),
    })
}
