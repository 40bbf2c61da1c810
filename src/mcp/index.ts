/** The MCP interface: the server over the app API and its stdio entry point. */
export { createMcpServer } from './server.js';
export { serveMcp } from './main.js';
