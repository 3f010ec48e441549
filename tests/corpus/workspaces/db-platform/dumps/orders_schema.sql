--
-- PostgreSQL database dump
--

-- Dumped from database version 16.4 (Debian 16.4-1.pgdg120+2)
-- Dumped by pg_dump version 16.4 (Debian 16.4-1.pgdg120+2)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: orders; Type: SCHEMA; Schema: -; Owner: orders_owner
--

CREATE SCHEMA orders;


ALTER SCHEMA orders OWNER TO orders_owner;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: customers; Type: TABLE; Schema: orders; Owner: orders_owner
--

CREATE TABLE orders.customers (
    id bigint NOT NULL,
    email text NOT NULL,
    country character(2) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


ALTER TABLE orders.customers OWNER TO orders_owner;

--
-- Name: orders; Type: TABLE; Schema: orders; Owner: orders_owner
--

CREATE TABLE orders.orders (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    total_cents integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT orders_total_cents_check CHECK ((total_cents >= 0))
);


ALTER TABLE orders.orders OWNER TO orders_owner;

--
-- Name: orders_pkey; Type: CONSTRAINT; Schema: orders; Owner: orders_owner
--

ALTER TABLE ONLY orders.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


--
-- Name: orders_customer_id_fkey; Type: FK CONSTRAINT; Schema: orders; Owner: orders_owner
--

ALTER TABLE ONLY orders.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES orders.customers(id);


--
-- Name: SCHEMA orders; Type: ACL; Schema: -; Owner: orders_owner
--

GRANT USAGE ON SCHEMA orders TO app_ro;
GRANT USAGE ON SCHEMA orders TO app_rw;


--
-- Name: TABLE orders; Type: ACL; Schema: orders; Owner: orders_owner
--

GRANT SELECT ON TABLE orders.orders TO app_ro;
GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE orders.orders TO app_rw;


--
-- PostgreSQL database dump complete
--

