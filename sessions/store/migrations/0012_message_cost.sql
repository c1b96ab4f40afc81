-- What answering each assistant message cost (the resilience chain's price table times the
-- call's usage); NULL when the model that answered has no price. session.cost is the sum of
-- its messages' known costs, kept by the store's subscriber.
ALTER TABLE message ADD COLUMN cost REAL;
