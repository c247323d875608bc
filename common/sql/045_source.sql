-- SPDX-License-Identifier: Apache-2.0
-- Where an order came from: the node's own intake, or handed down by the
-- national government-service platform, whose orders follow national rules
-- (Art 11; the period is a node setting, period_national).

ALTER TABLE tickets ADD COLUMN source text NOT NULL DEFAULT 'local'
    CHECK (source IN ('local', 'national_platform'));
