//! Reads: one timer, and the keyset-paged listings of timers, dead letters and breaches
//! (one page rule for all, [`kit::page::Page`]).

use aftersales_proto::aftersales::sla::v1::{
    GetTimerRequest, ListBreachesRequest, ListBreachesResponse, ListDeadLettersRequest,
    ListDeadLettersResponse, ListTimersRequest, ListTimersResponse, Timer,
};
use kit::{
    Error,
    auth::Principal,
    error::Violations,
    page::{self, Page},
    time::from_ts,
};

use super::{Api, owner_scope};
use crate::{
    parse, render,
    store::{self, Cursor},
};

/// A listing cursor as a page token: `<due time, Unix microseconds>.<id>` by due time, the
/// bare id by id.
fn cursor_token(c: Cursor) -> String {
    match c {
        Cursor::Due(due, id) => page::time_id_token(Some(due), id),
        Cursor::Id(id) => id.to_string(),
    }
}

/// The cursor of a token made by [`cursor_token`].
fn parse_cursor(token: &str) -> Option<Cursor> {
    if token.contains('.') {
        match page::parse_time_id(token)? {
            (Some(due), id) => Some(Cursor::Due(due, id)),
            (None, _) => None,
        }
    } else {
        page::parse_id(token).map(Cursor::Id)
    }
}

/// GetTimer: a timer the caller may see.
pub(super) async fn get_timer(
    api: &Api,
    who: &Principal,
    r: GetTimerRequest,
) -> kit::Result<Timer> {
    let name = r.name;
    let id = kit::names::parse("name", "timers", &name)?;
    let row = store::get(&api.pool, id)
        .await?
        .filter(|t| owner_scope(who).is_none_or(|o| o == t.owner))
        .ok_or(Error::NotFound {
            resource: "timer",
            name,
        })?;
    Ok(render::timer(&row))
}

/// ListTimers: a subject's timers by due time, or an owner's by id.
pub(super) async fn list_timers(
    api: &Api,
    who: &Principal,
    r: ListTimersRequest,
) -> kit::Result<ListTimersResponse> {
    let mut v = Violations::new();
    let mut states = Vec::new();
    for (i, s) in r.states.iter().enumerate() {
        match parse::state_name(*s) {
            Some(n) => states.push(n.to_string()),
            None => v.add(format!("states[{i}]"), "unknown state"),
        }
    }
    let owner = match owner_scope(who) {
        Some(own) => {
            if !r.owner.is_empty() && r.owner != own {
                v.add("owner", "a service lists only its own timers");
            }
            Some(own)
        }
        None => (!r.owner.is_empty()).then_some(r.owner.clone()),
    };
    let mut filter = store::TimerFilter {
        owner,
        subject: (!r.subject.is_empty()).then_some(r.subject),
        kind: (!r.kind.is_empty()).then_some(r.kind),
        states,
        after: None,
        limit: 0,
    };
    let page = Page::parse(&mut v, r.page_size, &r.page_token, |t| {
        parse_cursor(t).filter(|c| filter.orders_by(c))
    });
    v.finish()?;
    filter.after = page.after;
    filter.limit = page.fetch();
    let mut rows = store::list(&api.pool, &filter).await?;
    let next_page_token = page.finish(&mut rows, |r| cursor_token(filter.cursor_after(r)));
    Ok(ListTimersResponse {
        timers: rows.iter().map(render::timer).collect(),
        next_page_token,
    })
}

/// ListDeadLetters: the caller's (or, for operators, any owner's) dead letters by id.
pub(super) async fn list_dead_letters(
    api: &Api,
    who: &Principal,
    r: ListDeadLettersRequest,
) -> kit::Result<ListDeadLettersResponse> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, |t| {
        t.parse::<i64>().ok()
    });
    v.finish()?;
    let owner = owner_scope(who).or((!r.owner.is_empty()).then_some(r.owner));
    let after = page.after.unwrap_or(0);
    let mut rows =
        store::list_dead_letters(&api.pool, owner.as_deref(), after, page.fetch()).await?;
    let next_page_token = page.finish(&mut rows, |d| d.id.to_string());
    Ok(ListDeadLettersResponse {
        dead_letters: rows.iter().map(render::dead_letter).collect(),
        next_page_token,
    })
}

/// ListBreaches: recorded breaches by id, filtered, with the total count of matches.
pub(super) async fn list_breaches(
    api: &Api,
    r: ListBreachesRequest,
) -> kit::Result<ListBreachesResponse> {
    let mut v = Violations::new();
    let page = Page::parse(&mut v, r.page_size, &r.page_token, |t| {
        t.parse::<i64>().ok()
    });
    let label = parse::label_filter(&mut v, "label", &r.label);
    v.finish()?;
    let filter = store::BreachFilter {
        owner: (!r.owner.is_empty()).then_some(r.owner),
        kind: (!r.kind.is_empty()).then_some(r.kind),
        from: r.start_time.as_ref().and_then(from_ts),
        to: r.end_time.as_ref().and_then(from_ts),
        label,
        after: page.after.unwrap_or(0),
        limit: page.fetch(),
    };
    let (mut rows, total) = store::list_breaches(&api.pool, &filter).await?;
    let next_page_token = page.finish(&mut rows, |b| b.id.to_string());
    Ok(ListBreachesResponse {
        breaches: rows.iter().map(render::breach).collect(),
        next_page_token,
        total_size: total as u32,
    })
}
