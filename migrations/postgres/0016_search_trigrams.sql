-- Trigram indexes (the `pg_trgm` extension PostgreSQL ships) of the texts a ticket search looks
-- into: each message's text, and a ticket's subject, customer and tags. A search for something
-- few tickets have then reads the rows that hold it instead of every ticket.
--
-- The extension goes into `public` (or, where that may not be written, the first schema of the
-- search path) unless the database has it already; the indexes name its schema, so stores in
-- other schemas of the same database share it. Where it is missing or may not be created, the
-- indexes are left out with a warning: searches give the same answers, only slower on a large
-- store. `docs/replicas.md` says how to add them later.
DO $$
DECLARE
    trgm name;
BEGIN
    SELECT extnamespace::regnamespace::name INTO trgm FROM pg_extension WHERE extname = 'pg_trgm';
    IF trgm IS NULL THEN
        IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
            RAISE WARNING 'frontdesk: the pg_trgm extension is not installed on this server; '
                'ticket searches work without its indexes, only slower on a large store';
            RETURN;
        END IF;
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- created meanwhile, by a store in another schema of this database
        WHEN insufficient_privilege OR invalid_schema_name THEN
            BEGIN
                CREATE EXTENSION pg_trgm;
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE WARNING 'frontdesk: this role may not create the pg_trgm extension; '
                    'ticket searches work without its indexes, only slower on a large store';
                RETURN;
            END;
        END;
        SELECT extnamespace::regnamespace::name INTO trgm FROM pg_extension WHERE extname = 'pg_trgm';
    END IF;
    EXECUTE format('CREATE INDEX events_text ON events USING gin (text_key %1$I.gin_trgm_ops)', trgm);
    EXECUTE format('CREATE INDEX tickets_text ON tickets USING gin (subject_key %1$I.gin_trgm_ops, '
        'customer_key %1$I.gin_trgm_ops, tag_keys %1$I.gin_trgm_ops)', trgm);
END
$$;
