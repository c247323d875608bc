-- SPDX-License-Identifier: Apache-2.0
-- The master dataset listed by unit, or by creation date alone, a page at a
-- time in creation order (GET /api/v1/master/tickets); kind and category
-- have too few values to be worth an index of their own.

CREATE INDEX master_tickets_by_created ON master_tickets (created_at, id);
CREATE INDEX master_tickets_by_unit ON master_tickets (unit_code, created_at, id);
