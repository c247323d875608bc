-- SPDX-License-Identifier: Apache-2.0
-- Load balancing (Art 3, DESIGN.md "Load balancing"): per centre, the queue
-- depth past which it is overflowing, whether it takes other centres'
-- overflow, and its dialect region.  Keyed by node code rather than kept in
-- nodes because the province, which has no row there, is a centre too.  A
-- centre without a row has the default threshold and takes no overflow.

CREATE TABLE node_balancing (
    code            text PRIMARY KEY CHECK (code ~ '^[1-9][0-9]{3}00$'),
    queue_threshold integer NOT NULL CHECK (queue_threshold >= 0),
    takes_overflow  boolean NOT NULL,
    region          text NOT NULL CHECK (region IN ('cantonese', 'hakka', 'teochew')),
    updated_at      timestamptz NOT NULL
);
