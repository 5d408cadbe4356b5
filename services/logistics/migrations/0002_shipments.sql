-- Shipments of after-sales parcels and the carrier events about them.
-- Tables are unqualified: the pool's search_path is the service's schema.

CREATE TABLE shipments (
    id                      uuid PRIMARY KEY,        -- UUIDv7: newest first is id DESC
    case_name               text NOT NULL,
    leg                     smallint NOT NULL,       -- aftersales.logistics.v1.ShipmentLeg
    carrier_code            text NOT NULL,           -- lower case
    tracking_number         text NOT NULL,
    status                  smallint NOT NULL,       -- aftersales.logistics.v1.ShipmentStatus
    promised_delivery_time  timestamptz,
    destination             bytea,                   -- aftersales.common.v1.Address
    booking_id              text,
    pickup_address          bytea,
    window_start_time       timestamptz,
    window_end_time         timestamptz,
    last_event_time         timestamptz,
    delivered_time          timestamptz,
    delivered_late          boolean NOT NULL DEFAULT false,
    create_time             timestamptz NOT NULL DEFAULT now(),
    update_time             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shipments_once_per_case UNIQUE (carrier_code, tracking_number, case_name)
);
CREATE INDEX shipments_by_case ON shipments (case_name, id);
CREATE INDEX shipments_by_tracking ON shipments (carrier_code, tracking_number);

-- Every carrier event once, whether or not a shipment is registered for it yet.
CREATE TABLE carrier_events (
    carrier_code     text NOT NULL,
    event_id         text NOT NULL,
    tracking_number  text NOT NULL,
    status           smallint NOT NULL,              -- aftersales.logistics.v1.CarrierEventStatus
    event_time       timestamptz NOT NULL,
    location         text NOT NULL DEFAULT '',
    description      text NOT NULL DEFAULT '',
    receive_time     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT carrier_events_pk PRIMARY KEY (carrier_code, event_id)
);
CREATE INDEX carrier_events_by_tracking ON carrier_events (carrier_code, tracking_number, event_time);
