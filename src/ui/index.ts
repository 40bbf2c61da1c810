/** The dashboard (`mso ui`): an HTTP interface over the app API with live Server-Sent Events from the audit log. */
export { createUiHandler, startUi, type UiHandler, type UiOptions, type UiServer } from './server.js';
export { TOKEN_HEADER, isLoopbackHost } from './security.js';
