-- Event payloads arrive compressed (zstd, or the client's own gzip).
-- PostgreSQL moved every payload over 2 KB to the TOAST table (a second
-- heap row and index entry per event) after trying to compress it again;
-- now a row of up to 8 KB stays in its page, and a larger payload goes out
-- of line as it is.
ALTER TABLE events SET (toast_tuple_target = 8160);
ALTER TABLE events ALTER COLUMN payload SET STORAGE EXTERNAL;
