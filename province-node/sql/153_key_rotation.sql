-- SPDX-License-Identifier: Apache-2.0
-- Key rotation (README "Key rotation"): `node-key` gives a node a new CURVE
-- key and keeps the one it replaced admitted until previous_key_until, the
-- end of the grace period, while the node switches.  After it, or after
-- `node-key-retire`, only the new key is admitted.

ALTER TABLE nodes
    ADD COLUMN previous_curve_key text CHECK (length(previous_curve_key) = 40),
    ADD COLUMN previous_key_until timestamptz;
