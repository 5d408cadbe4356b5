//! How carrier events move a shipment. Carriers deliver callbacks late, twice and out of
//! order; the shipment follows the event with the latest event time, and a final status
//! (delivered, returned to sender) is never undone.

use chrono::{DateTime, Duration, Utc};

/// A status a carrier reports. Discriminants are the contract's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reported {
    PickedUp = 1,
    InTransit = 2,
    OutForDelivery = 3,
    Delivered = 4,
    Exception = 5,
    ReturnedToSender = 6,
}

impl Reported {
    /// From the contract's number.
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            1 => Self::PickedUp,
            2 => Self::InTransit,
            3 => Self::OutForDelivery,
            4 => Self::Delivered,
            5 => Self::Exception,
            6 => Self::ReturnedToSender,
            _ => return None,
        })
    }

    /// From the webhook's JSON: the full enum name or its short form ("DELIVERED").
    pub fn parse(s: &str) -> Option<Self> {
        let short = s.strip_prefix("CARRIER_EVENT_STATUS_").unwrap_or(s);
        Some(match short {
            "PICKED_UP" => Self::PickedUp,
            "IN_TRANSIT" => Self::InTransit,
            "OUT_FOR_DELIVERY" => Self::OutForDelivery,
            "DELIVERED" => Self::Delivered,
            "EXCEPTION" => Self::Exception,
            "RETURNED_TO_SENDER" => Self::ReturnedToSender,
            _ => return None,
        })
    }

    /// The shipment status this event means.
    pub fn status(self) -> Status {
        match self {
            Self::PickedUp => Status::PickedUp,
            Self::InTransit => Status::InTransit,
            Self::OutForDelivery => Status::OutForDelivery,
            Self::Delivered => Status::Delivered,
            Self::Exception => Status::Exception,
            Self::ReturnedToSender => Status::ReturnedToSender,
        }
    }
}

/// Where a shipment is. Discriminants are the contract's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Registered = 1,
    PickupBooked = 2,
    PickedUp = 3,
    InTransit = 4,
    OutForDelivery = 5,
    Delivered = 6,
    Exception = 7,
    ReturnedToSender = 8,
    Cancelled = 9,
}

impl Status {
    /// From the stored number.
    pub fn from_i16(v: i16) -> Option<Self> {
        Some(match v {
            1 => Self::Registered,
            2 => Self::PickupBooked,
            3 => Self::PickedUp,
            4 => Self::InTransit,
            5 => Self::OutForDelivery,
            6 => Self::Delivered,
            7 => Self::Exception,
            8 => Self::ReturnedToSender,
            9 => Self::Cancelled,
            _ => return None,
        })
    }

    /// The contract's enum name without its prefix, as audit entries name states.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "REGISTERED",
            Self::PickupBooked => "PICKUP_BOOKED",
            Self::PickedUp => "PICKED_UP",
            Self::InTransit => "IN_TRANSIT",
            Self::OutForDelivery => "OUT_FOR_DELIVERY",
            Self::Delivered => "DELIVERED",
            Self::Exception => "EXCEPTION",
            Self::ReturnedToSender => "RETURNED_TO_SENDER",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Delivered, returned or cancelled: nothing moves it any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Delivered | Self::ReturnedToSender | Self::Cancelled
        )
    }
}

/// A shipment as far as the rule needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub status: Status,
    pub last_event_time: Option<DateTime<Utc>>,
}

/// What an event does to a shipment at `at`: its new position, or `None` when the
/// event changes nothing (older than what is known, or the shipment is final). A final
/// event wins over an earlier-received later non-final one: a parcel signed for is
/// delivered, whatever a scan after it said.
pub fn apply(at: Position, event: Reported, event_time: DateTime<Utc>) -> Option<Position> {
    if at.status.is_final() {
        return None;
    }
    let newer = at.last_event_time.is_none_or(|t| event_time >= t);
    let to = event.status();
    if !newer && !to.is_final() {
        return None;
    }
    let last = Some(at.last_event_time.map_or(event_time, |t| t.max(event_time)));
    if to == at.status && last == at.last_event_time {
        return None;
    }
    Some(Position {
        status: to,
        last_event_time: last,
    })
}

/// Seed 002: a parcel more than 72 h past its promised delivery time is late (the
/// default of `LOGISTICS_LATE_TOLERANCE`).
pub const LATE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(72 * 3600);

/// How late a delivery is beyond the tolerance, if it is (seed 002: "物流超过承诺时效
/// 72小时" makes a case for refund-only).
pub fn late_by(
    promised: Option<DateTime<Utc>>,
    delivered: DateTime<Utc>,
    tolerance: Duration,
) -> Option<Duration> {
    let promised = promised?;
    let delay = delivered - promised;
    (delay > tolerance).then_some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + h * 3600, 0).unwrap()
    }

    fn at(status: Status, last: Option<i64>) -> Position {
        Position {
            status,
            last_event_time: last.map(t),
        }
    }

    #[test]
    fn events_in_order_move_the_shipment() {
        let p = apply(at(Status::Registered, None), Reported::PickedUp, t(0)).unwrap();
        assert_eq!(p, at(Status::PickedUp, Some(0)));
        let p = apply(p, Reported::InTransit, t(5)).unwrap();
        let p = apply(p, Reported::Delivered, t(30)).unwrap();
        assert_eq!(p, at(Status::Delivered, Some(30)));
    }

    #[test]
    fn a_late_scan_does_not_move_a_delivered_parcel_back() {
        assert_eq!(
            apply(at(Status::Delivered, Some(30)), Reported::InTransit, t(5)),
            None
        );
        // not even a later one: delivered is final
        assert_eq!(
            apply(at(Status::Delivered, Some(30)), Reported::Exception, t(40)),
            None
        );
    }

    #[test]
    fn an_older_event_does_not_override_a_newer_one() {
        assert_eq!(
            apply(
                at(Status::OutForDelivery, Some(20)),
                Reported::InTransit,
                t(5)
            ),
            None
        );
    }

    #[test]
    fn a_final_event_wins_even_with_an_earlier_time() {
        let p = apply(at(Status::InTransit, Some(20)), Reported::Delivered, t(18)).unwrap();
        assert_eq!(p, at(Status::Delivered, Some(20)));
    }

    #[test]
    fn lateness_is_measured_against_the_promise_with_a_tolerance() {
        let tol = Duration::hours(72);
        assert_eq!(
            late_by(Some(t(0)), t(72), tol),
            None,
            "72 h exactly is not late"
        );
        assert_eq!(late_by(Some(t(0)), t(73), tol), Some(Duration::hours(73)));
        assert_eq!(late_by(None, t(500), tol), None, "no promise, no lateness");
    }

    #[test]
    fn status_names_are_the_contracts() {
        use aftersales_proto::aftersales::logistics::v1::ShipmentStatus;
        for n in 1..=9 {
            let ours = Status::from_i16(n).unwrap().as_str();
            let theirs = ShipmentStatus::try_from(n as i32).unwrap().as_str_name();
            assert_eq!(theirs, format!("SHIPMENT_STATUS_{ours}"));
        }
    }

    #[test]
    fn webhook_status_names() {
        assert_eq!(Reported::parse("DELIVERED"), Some(Reported::Delivered));
        assert_eq!(
            Reported::parse("CARRIER_EVENT_STATUS_IN_TRANSIT"),
            Some(Reported::InTransit)
        );
        assert_eq!(Reported::parse("delivered"), None);
        assert_eq!(Reported::parse("CARRIER_EVENT_STATUS_UNSPECIFIED"), None);
    }
}
