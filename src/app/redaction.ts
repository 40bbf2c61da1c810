import { credentialEnvNames } from '../agents/light.js';
import { createRedactor, isCredentialEnvName } from '../audit/light.js';
import type { Policy } from '../contracts/index.js';
import type { Redactor } from '../platform/index.js';

/**
 * The process's one redactor: credential-named variables of `env` and the known key shapes. The workspace's
 * policy adds its own (`withPolicySecrets`) once it is read.
 */
export function createAppRedactor(env: Readonly<Record<string, string | undefined>>): Redactor {
  const redactor = createRedactor({ env });
  // Every variable an agent CLI table marks as a credential, whatever its name looks like (AWS_SESSION_TOKEN is
  // caught by name; GOOGLE_APPLICATION_CREDENTIALS-style names are caught only because the table says so).
  redactor.add({ env, envNames: credentialEnvNames() });
  return redactor;
}

/**
 * Adds what the policy marks as secret: `redaction.values`, the variables named in `redaction.env` and in agents'
 * `api_key_env`, and the credential-named values of agents' fixed `env`.
 */
export function withPolicySecrets(
  redactor: Redactor,
  policy: Policy,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const agents = Object.values(policy.agents);
  redactor.add({
    env,
    envNames: credentialEnvNames([
      ...policy.redaction.env,
      ...agents.flatMap((a) => (a.api_key_env ? [a.api_key_env] : [])),
    ]),
    values: [
      ...policy.redaction.values,
      ...agents.flatMap((a) => Object.entries(a.env).flatMap(([k, v]) => (isCredentialEnvName(k) ? [v] : []))),
    ],
  });
}
