-- SPDX-License-Identifier: Apache-2.0
-- A page of orders (GET /api/v1/tickets, ticketdb_list) comes in the
-- list's order, emergencies first and then oldest first: the indexes by
-- unit and status and by status hold that order, so a page of a unit's
-- orders in one status, and its total, are read from the index instead of
-- every order the unit ever had being fetched and sorted.
DROP INDEX tickets_by_unit;
DROP INDEX tickets_by_status;
CREATE INDEX tickets_by_unit ON tickets (unit_code, status, (emergency_hours IS NULL), created_at, id);
CREATE INDEX tickets_by_status ON tickets (status, (emergency_hours IS NULL), created_at, id);
