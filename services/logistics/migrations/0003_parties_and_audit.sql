-- Issue 23. The case's parties, as the case owner gives them at registration, so that a
-- buyer and a merchant read the shipments of their own cases and nobody else's; '' when
-- the owner did not give them (then only staff, the carrier and the reading services see
-- the shipment).
ALTER TABLE shipments
    ADD COLUMN buyer_id    text NOT NULL DEFAULT '',
    ADD COLUMN merchant_id text NOT NULL DEFAULT '';
CREATE INDEX shipments_by_buyer ON shipments (buyer_id, id) WHERE buyer_id <> '';
CREATE INDEX shipments_by_merchant ON shipments (merchant_id, id) WHERE merchant_id <> '';

-- Who reported a carrier event (a partner by its id, or an agent), so the status move it
-- causes is audited under its reporter even when it is applied later, at registration.
ALTER TABLE carrier_events
    ADD COLUMN reporter_role text NOT NULL DEFAULT '',
    ADD COLUMN reporter_id   text NOT NULL DEFAULT '';

-- Every change of a shipment: who, when, why, from, to (SPEC §9), written in the
-- change's own transaction.
CREATE TABLE audit (
    id           bigserial PRIMARY KEY,
    shipment_id  uuid NOT NULL REFERENCES shipments (id),
    actor_role   text NOT NULL,
    actor_id     text NOT NULL,
    from_state   smallint,                           -- NULL for the registration
    to_state     smallint NOT NULL,                  -- aftersales.logistics.v1.ShipmentStatus
    action       text NOT NULL,
    reason       text NOT NULL,
    request_id   text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_by_shipment ON audit (shipment_id, id);
