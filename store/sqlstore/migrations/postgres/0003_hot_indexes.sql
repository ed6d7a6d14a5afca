-- vicgo store schema v3: partial indexes for the reconciler's work lists, so
-- that listing what is still under way reads only those rows, in order, however
-- many finished ones the tables hold. The lists name these conditions
-- literally (transactions.go, journeys.go) so that the planner matches them,
-- also in a generic plan. store/sqlstore/plan_test.go checks every hot query's
-- plan.

CREATE INDEX transactions_nonfinal ON transactions (created_at, id)
    WHERE status IN ('PENDING', 'AUTHENTICATED', 'INSTRUCTED', 'CREDENTIALS_REQUESTED',
                     'CREDENTIALS_ISSUED', 'AUTHORIZING', 'AUTHORIZED');
CREATE INDEX transactions_unconfirmed ON transactions (created_at, id)
    WHERE status = 'AUTHORIZED' OR (status = 'DECLINED' AND confirmed_at IS NULL);
CREATE INDEX journeys_live ON journeys (created_at, id)
    WHERE status IN ('RUNNING', 'WAITING');
