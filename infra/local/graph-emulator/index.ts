/**
 * The Graph API emulator: a loopback stand-in for Facebook's Send API, for `npm start`, the
 * end-to-end tests and the simulator. What it serves and the rules it applies: README.md here.
 */
export { DEFAULT_SUBSCRIBED_FIELDS } from './constants';
export {
  FAULT_KINDS,
  type Fault,
  type FaultInput,
  type FaultKind,
  type Flaky,
  type FlakyInput,
} from './faults';
export {
  applySend,
  decideSend,
  type MutableRulesState,
  type RulesState,
  type SendChange,
  type SendDecision,
  type SendRequest,
} from './rules';
export { GraphEmulator } from './server';
export * from './types';
