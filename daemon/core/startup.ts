/** Exit code when another daemon already serves the folder: the starter should just connect to it. */
export const EXIT_ALREADY_RUNNING = 3;
/** Exit code when the daemon cannot start (damaged store, unwritable folder). */
export const EXIT_FAILED = 2;
/** The line a starting client waits for on the daemon's stdout. */
export const READY_LINE = 'zavhoz-daemon-ready';
