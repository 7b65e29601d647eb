/**
 * The pipeline's internal messages live in `src/model` (`ticket-event.ts`, `ticket-state.ts`,
 * `writeback-task.ts`); re-exported here for the CLI, the bench and tests that import them from
 * their old place.
 */
export {
  DeliveryEvent,
  RecordCommand,
  RevokeCommand,
  TicketEvent,
  TicketState,
  TrackedGrant,
  WritebackTask,
  ticketKey,
} from '../model/index.js';
