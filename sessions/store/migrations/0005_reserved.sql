-- Placeholder on the `flows` branch only: 0005 is reserved for provider resilience, and
-- migrations must be numbered 1..N without gaps. The integrator drops this file when the
-- real 0005 lands.
SELECT 1;
