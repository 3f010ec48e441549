-- V002: order items
CREATE TABLE orders.order_items (
    order_id    bigint  NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
    line_no     smallint NOT NULL,
    sku         text    NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_cents  integer NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
