-- V003: privileges for the application roles.
-- The roles themselves are created by roles/001_roles.psql (passwords from Vault);
-- Flyway only grants, so this migration is safe to replay in every environment.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE orders FROM PUBLIC;

GRANT CONNECT ON DATABASE orders TO app_ro, app_rw;
GRANT USAGE ON SCHEMA orders TO app_ro, app_rw;
GRANT SELECT ON ALL TABLES IN SCHEMA orders TO app_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA orders TO app_rw;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA orders TO app_rw;

ALTER DEFAULT PRIVILEGES FOR ROLE orders_owner IN SCHEMA orders
    GRANT SELECT ON TABLES TO app_ro;
ALTER DEFAULT PRIVILEGES FOR ROLE orders_owner IN SCHEMA orders
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_rw;
