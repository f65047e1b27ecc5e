-- Rate limits (issue 13): a project's override of the service's default requests a minute
-- per key; NULL leaves its keys to the default. The domain allows 1 to 1,000,000.
ALTER TABLE projects
    ADD COLUMN rate_limit_per_minute INTEGER
        CHECK (rate_limit_per_minute BETWEEN 1 AND 1000000);
