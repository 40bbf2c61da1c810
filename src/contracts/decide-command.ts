/**
 * How to decide a waiting human item: a node left to a person (`manual_work`) is approved with `--done` once the work
 * is done. The words every interface shows for it: the live view, a run's summary, the observation readme.
 */
export function decideCommand(runId: string, item: string, byHand: boolean): string {
  return byHand
    ? `mso approve ${runId} ${item} --done once you did it, or mso reject ${runId} ${item}`
    : `mso approve|reject ${runId} ${item}`;
}
