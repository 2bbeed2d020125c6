import { randomBytes } from 'node:crypto';

/** A hold's id: `hold_` and 16 random hex characters. */
export const newHoldId = () => `hold_${randomBytes(8).toString('hex')}`;

export const HOLD_ID_PATTERN = /^hold_[0-9a-f]{16}$/;
