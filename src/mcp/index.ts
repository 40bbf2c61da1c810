/** The MCP interface: the server over the app API, its stdio entry point, and host installation. */
export { createMcpServer } from './server.js';
export { serveMcp } from './main.js';
export { claudeInstall, codexInstall, type InstallPlan } from './install.js';
