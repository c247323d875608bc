-- SPDX-License-Identifier: Apache-2.0
-- Key rotation (README "Key rotation"): a node's new signing key replaces
-- the one pinned for it, which is still accepted until previous_until, so
-- that messages signed before the node switched still verify.  A message
-- keeps the key that signed it (transfer_messages.signer_key) for ever.

ALTER TABLE node_keys
    ADD COLUMN previous_sign_key text CHECK (length(previous_sign_key) = 44),
    ADD COLUMN previous_until    timestamptz;
