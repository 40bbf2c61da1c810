/**
 * A failure as shown to people (a node's reason, its ticket, the timeline, findings): `<class>: <message>`. A message
 * that already names its class ("configuration problem (auth): ...") is shown as it is, and the class `auth` follows
 * its message instead: "auth: <word>" reads as a credential assignment to the redactor, which then hides the word.
 */
export function failureText(errorClass: string, message: string): string {
  if (message.includes(`(${errorClass})`)) return message;
  return errorClass === 'auth' ? `${message} (auth)` : `${errorClass}: ${message}`;
}
