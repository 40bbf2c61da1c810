import { z } from 'zod';
import { TimestampSchema } from './common.js';

export const AnchorTypeSchema = z.enum(['mso-workspace', 'mso-observation']);

export const PeerLinkSchema = z.looseObject({
  workspace_id: z.string().regex(/^(ws|obs)-[0-9a-f-]{36}$/, 'must be ws-<uuid> or obs-<uuid>'),
  last_known_path: z.string().min(1),
  last_verified_at: TimestampSchema,
  /** Set after PEER_REPLACED: sync stays off until `mso workspace relink`. */
  sync_suspended: z
    .looseObject({
      since: TimestampSchema,
      reason: z.string(),
      found_workspace_id: z.string(),
      found_path: z.string(),
    })
    .nullable()
    .default(null),
});
export type PeerLink = z.infer<typeof PeerLinkSchema>;

/** `.anchor.json` of the workspace (`.mso-context/.anchor.json`) or of the observation root. */
export const AnchorSchema = z
  .looseObject({
    type: AnchorTypeSchema,
    workspace_id: z.string().regex(/^(ws|obs)-[0-9a-f-]{36}$/, 'must be ws-<uuid> or obs-<uuid>'),
    created_at: TimestampSchema,
    canonical_path: z.string().min(1),
    peers: z.looseObject({ observation: PeerLinkSchema.optional(), workspace: PeerLinkSchema.optional() }).default({}),
  })
  .refine((a) => (a.type === 'mso-workspace') === a.workspace_id.startsWith('ws-'), {
    message: 'workspace_id prefix must match type (ws- for mso-workspace, obs- for mso-observation)',
    path: ['workspace_id'],
  });
export type Anchor = z.infer<typeof AnchorSchema>;
