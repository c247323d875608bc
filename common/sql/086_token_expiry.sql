-- SPDX-License-Identifier: Apache-2.0
-- A principal's token may be given a lifetime: after 'expires_at' it is
-- refused as a revoked one is.  NULL: it lasts until revoked.
ALTER TABLE principals ADD COLUMN expires_at timestamptz;
