-- SPDX-License-Identifier: Apache-2.0
-- A link to a photo or other media of an appeal, as an Open311 client gives
-- it with a service request (media_url): one http or https URL.  It is the
-- client's public link, shown with the request; it travels with the ticket
-- to the master dataset and in transfers.

ALTER TABLE tickets ADD COLUMN media_url text
    CHECK (media_url ~ '^https?://[^[:space:]]+$' AND length(media_url) <= 2000);
