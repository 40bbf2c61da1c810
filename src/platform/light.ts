/**
 * What an entry point needs of the platform before it loads the app (no SQLite, no child_process): the agent process
 * groups this process started, which a second Ctrl-C kills at once.
 */
export { liveGroupCount, signalLiveGroups } from './node/live-groups.js';
