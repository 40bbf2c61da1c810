/**
 * Word lists the offline planner reads goals with (English and Korean). Grammar, not examples: verbs that start a
 * clause, the markers that order or parallelise steps, and the work stage a verb belongs to.
 */

const words = (s: string): string[] => s.trim().split(/\s+/);

/**
 * Verbs that start a clause even before a bare noun ("add schema validation", "write integration tests"). They are
 * rarely used as nouns right after "and" or a comma in a goal.
 */
export const STRONG_VERBS = new Set(
  words(`
  add adapt adjust adopt align allow analyse analyze apply archive assess automate backfill bump calculate capture
  choose clarify clean collect compare compile configure consolidate containerize convert create debug decide
  decouple define delete deprecate describe detect determine develop disable drop edit eliminate enable enforce
  ensure evaluate expand explain explore expose extend extract find finish fix gather generate handle harden have
  identify implement improve include increase inspect install instrument integrate introduce investigate isolate
  localize lower make measure migrate minimize modernize modify move normalize notify obtain optimize optimise
  parallelize pick port prepare prevent prioritize produce propose prototype provide provision prune publish reach
  read rebuild recommend reduce refactor refine regenerate reimplement reject reorganize repair replace reproduce
  research reset resolve restore restructure rethink retry rewrite ship select send set simplify speed split
  standardize start stop streamline summarize summarise switch synthesize synthesise tidy translate troubleshoot turn
  unify upgrade use validate verify wire write remove revise take get give put bring do reuse revert refresh rotate
  save secure separate simulate stabilize submit support throttle trace transfer triage unblock uninstall upload
  download wrap fetch parse encrypt compress embed render paginate sanitize retire grant revoke approve rebase squash
  populate reword rephrase proofread internationalize transcribe illustrate draw ask invite organize cancel shorten
  lengthen rerun re-run redeploy reinstall recreate redesign redo reorder replan reprioritize rewire retest
  containerise organise prioritise visualise visualize
    connect
  `),
);

/** Verbs that are also common nouns: a clause starts with one only when an object or preposition follows. */
export const WEAK_VERBS = new Set(
  words(`
  benchmark build check clean deploy design document escalate import export fill format host launch lint load-test
  log map merge monitor package release rename report rerun review roll run scan scale schedule smoke-test sort spec
  store stress-test tag test track train update load post refund cut open close time deliver present release sync
  announce call demo share sign
    audit draft plan profile record request survey interview mock patch label estimate outline copy change seed stub
  email diagram plot contact wireframe hotfix backport trim split-test unit-test tune polish cache evaluate assess
  benchmark prototype trial weigh try compare
    watch
  `),
);

/** Words that may follow a weak verb for it to count as a verb: determiners, pronouns, prepositions, quantifiers. */
export const OBJECT_START = new Set(
  words(`
  the a an this that these those it them its their our my your his her all each every both any some one two three
  four five new old existing current whole entire up out down off over back again to for in into on with from by at
  across using via which what how why whether if against through
  `),
);

/** Particles of phrasal verbs: "set up", "roll out", "clean up". */
export const PARTICLES = new Set(words('up out down off over back through'));

/** Words that introduce a part of a description, not targets: an enumeration after them is not spread. */
export const DESCRIBING = new Set(words('including like e.g. incl. as'));

/** Prepositions that end an enumerated object ("... the avatar upload and the attachment upload | to it"). */
export const PREPOSITIONS = new Set(
  words(
    'to for in into on onto with from by at across using via under over within without against per through as about of between among during including like e.g. incl.',
  ),
);

/** Verbs that take a list as one input and produce one output: the list items run first, this joins them. */
export const COLLECTIVE_VERBS = new Set(
  words('combine merge consolidate synthesize synthesise summarize summarise integrate aggregate unify reconcile'),
);

/** Verbs that judge alternatives one by one: a list under them fans out ("compare X, Y and Z"). */
export const COMPARE_VERBS = new Set(words('compare benchmark evaluate assess prototype trial weigh try'));

/** Verbs that close a comparison: they join whatever came before. */
export const DECIDE_VERBS = new Set(words('recommend decide choose pick select adopt'));

/** Korean counterparts (noun stems of 하다 verbs, and native stems). */
export const KO_COLLECTIVE = ['통합', '종합', '요약', '취합', '합치', '병합'];
export const KO_COMPARE = ['비교'];
export const KO_DECIDE = ['추천', '선택', '결정', '고르', '골라'];

/**
 * The stage of work a verb belongs to: understand (0), design (1), build (2), verify (3), document (4), version (5),
 * release (6), clean up (7). Bullet lists without order words run items of one stage in parallel and later stages
 * after earlier ones.
 */
const STAGES: ReadonlyArray<readonly [number, RegExp]> = [
  [7, /^(?:remove|delete|deprecate|drop|archive|prune|clean|tidy)\b|^(?:제거|삭제|폐기)/i],
  [6, /^(?:release|publish|deploy|ship|launch|announce|roll|deliver)\b|^(?:배포|출시|릴리스|게시|공개|발표)/i],
  [5, /^(?:tag)\b|^(?:태그)/i],
  [4, /^(?:document|write up|describe|explain|bump)\b|^(?:문서)/i],
  [
    3,
    /^(?:test|verify|validate|review|check|load-test|smoke-test|stress-test|qa|audit|benchmark|measure|evaluate|assess|lint|monitor)\b|^(?:테스트|검증|검토|확인|평가|벤치마크|측정|모니터)/i,
  ],
  [1, /^(?:design|plan|outline|sketch|spec|draft|define|architect|prototype)\b|^(?:설계|기획|디자인|정의|초안)/i],
  [
    0,
    /^(?:research|investigate|analy[sz]e|explore|find|collect|gather|survey|interview|profile|reproduce|read|study|map|identify)\b|^(?:조사|분석|리서치|재현|수집|인터뷰|파악|탐색|프로파일)/i,
  ],
];

/** Objects that make any verb a documentation step ("update the changelog", "write the admin guide"). */
const DOC_OBJECT =
  /\b(?:docs?|documentation|readme|changelog|guide|manual|release notes|wiki|runbook|faq)\b|문서|가이드|매뉴얼|체인지로그/i;

/** The stage of a step from its verb and wording (see STAGES); 2 (build) when nothing else fits. */
export function stageOf(verb: string, text: string): number {
  for (const [stage, re] of STAGES) if (re.test(verb)) return stage;
  if (DOC_OBJECT.test(text)) return 4;
  // Korean puts the work in a noun before a generic verb: "테스트 실행", "릴리스 진행".
  if (/^(?:실행|진행|수행|하기)$/.test(verb))
    for (const w of text.split(' ').reverse()) for (const [stage, re] of STAGES) if (re.test(w)) return stage;
  return 2;
}

/** Markers that put a step after the one before it. */
export const EN_SEQ_START =
  /^(?:and\s+)?(?:then|next|after that|afterwards|afterward|finally|lastly|subsequently|later|second|secondly|third|thirdly|at the end|in the end|once (?:that|this|done) is done|once done|when done)\b[,:]?\s*/i;
/** Markers that start a list ("first") and say nothing about order. */
export const EN_FIRST = /^(?:first|firstly|first of all|to start|start by|begin by)\b[,:]?\s*/i;
/** Markers that make a step run beside the one before it. */
export const EN_PAR =
  /\b(?:in parallel|simultaneously|at the same time|concurrently|meanwhile|separately|independently|side by side)\b/i;
/** Words by which a later step refers to the results of several earlier ones. */
export const EN_JOIN =
  /\b(?:both(?!\s+(?:the\s+|of\s+the\s+)?[\w-]+(?:\s+[\w-]+)?\s+and\b)|all of them|all (?:the )?(?:results|changes|parts|findings|outputs|pieces)|the results|everything|together|each of them|the two|all three|all four)\b/i;

export const KO_SEQ_START =
  /^(?:완료되면|끝나면|완료\s*후(?:에)?|그러면|그\s*다음(?:에|으로)?|그런\s*다음(?:에)?|그러고\s*나서|다음으로|이후(?:에)?|그\s*후(?:에)?|그\s*뒤(?:에)?|마지막으로|끝으로|최종적으로|둘째로?|셋째로?)\s*,?\s*/;
export const KO_FIRST = /^(?:먼저|우선|첫째로?|처음에)\s*,?\s*/;
export const KO_PAR = /(?:동시에|병렬로|별도로|따로|각각|나란히|독립적으로)/;
export const KO_JOIN =
  /(?:두\s*(?:결과|작업|가지|팀의\s*결과)|모든\s*(?:결과|작업)|세\s*(?:결과|작업)|둘\s*다|둘을|양쪽|모두|전부|함께|결과들)/;
