-- SPDX-License-Identifier: Apache-2.0
-- The hotline office withdraws a published knowledge-base entry (Art 18):
-- its published version becomes 'withdrawn', readers no longer see the
-- entry, and who withdrew it, when and why is kept with the version.  A
-- later version may be published again.

ALTER TABLE kb_versions ADD COLUMN withdrawn_at timestamptz,
                        ADD COLUMN withdrawn_by text,
                        ADD COLUMN withdrawn_reason text,
                        ADD CHECK ((withdrawn_at IS NULL) = (withdrawn_by IS NULL)
                                   AND (withdrawn_at IS NULL) = (withdrawn_reason IS NULL));
