-- SPDX-License-Identifier: Apache-2.0
-- What each node reported of each day, to reconcile with the master dataset.

CREATE TABLE node_reports (
    node        text NOT NULL,
    day         date NOT NULL,
    events      bigint NOT NULL,
    reported_at timestamptz NOT NULL,
    PRIMARY KEY (node, day)
);
