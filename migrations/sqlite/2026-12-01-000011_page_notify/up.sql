-- PostgreSQL announces page changes to other processes (see its 000011); one SQLite process
-- makes every write and sees them itself.
SELECT 1;
