-- SPDX-License-Identifier: Apache-2.0
-- Daily reports to the province (Art 19): how many events each day holds,
-- sent on the ticket stream after the events they count, so the province
-- can tell that nothing was lost.  The last figure sent for each day.

CREATE TABLE sync_reports (
    day         date PRIMARY KEY,
    events      bigint NOT NULL,
    reported_at timestamptz NOT NULL
);
