-- Placeholder on the `rewind` branch only: 0006 is reserved for another branch (workflows /
-- RAG), and migrations must be numbered 1..N without gaps. The integrator drops this file
-- when the real 0006 lands.
SELECT 1;
