-- Placeholder on the `compact` branch only: 0008 is reserved for another branch, and
-- migrations must be numbered 1..N without gaps. The integrator drops this file when the
-- real 0008 lands.
SELECT 1;
