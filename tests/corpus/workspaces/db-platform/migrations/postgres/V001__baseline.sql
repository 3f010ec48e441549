-- V001: baseline schema for orders (imported from the legacy dump, 2025-03)
CREATE SCHEMA IF NOT EXISTS orders AUTHORIZATION orders_owner;

CREATE TABLE orders.customers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text        NOT NULL UNIQUE,
    country     char(2)     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders.orders (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  bigint      NOT NULL REFERENCES orders.customers (id),
    status       text        NOT NULL DEFAULT 'pending',
    total_cents  integer     NOT NULL CHECK (total_cents >= 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
