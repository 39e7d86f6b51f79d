/**
 * What the replay model can find wrong with a stream, each with a stable code.
 *
 * - An **error** is an op pachd's Restore would fail on: the restore stops
 *   there and leaves a partial cluster. `pachd` is the error text it returns.
 * - A **hazard** is an op pachd accepts but whose result is not the cluster
 *   that was extracted (an open commit, a tree whose object is not in the
 *   stream, a renamed repo).
 *
 * `pach-filter --verify` fails (65) on either; `pach-restore --dry-run` fails
 * on errors and lists hazards as warnings.
 */

export type Severity = 'error' | 'hazard';

export interface ProblemClass {
  severity: Severity;
  /** What it means, for --help-like listings and the docs. */
  summary: string;
}

export const PROBLEMS = {
  PACH_STREAM_TOO_NEW: { severity: 'error', summary: 'a stream whose op version is newer than the pachd it is restored into' },
  PACH_UNKNOWN_OP: { severity: 'error', summary: 'an op kind the stream version has no slot for' },
  PACH_IGNORED_OP: { severity: 'hazard', summary: 'an op pachd 1.6/1.7 does not know: it skips it without a word' },
  PACH_BAD_OP: { severity: 'error', summary: 'an op whose payload does not decode' },
  PACH_MIXED_VERSIONS: { severity: 'error', summary: 'a record in another op version than the first' },
  PACH_INTEGRITY: { severity: 'error', summary: 'the stream is truncated or corrupt (trailer, checksum, CRC, record framing)' },
  PACH_OBJECT_GROUP: { severity: 'error', summary: 'a non-object op inside an object (or block) group, or a group the stream never ends' },
  PACH_EMPTY_OBJECT: { severity: 'hazard', summary: 'a zero-length object: pachd merges it into the next object' },
  PACH_INVALID_OBJECT_HASH: { severity: 'error', summary: 'a tag whose object hash is not 128 hex characters' },
  PACH_TAG_OBJECT_NOT_FOUND: { severity: 'error', summary: 'a tag on an object the stream does not hold (pachd checks it exists)' },
  PACH_MISSING_OBJECT: { severity: 'hazard', summary: 'a tree, datums object or object index that points at an object or block the stream does not hold' },
  PACH_NO_OBJECTS: { severity: 'hazard', summary: 'commits with trees but no objects in the stream (extracted with --no-objects)' },
  PACH_TREE_NOT_FOUND: { severity: 'error', summary: 'a commit whose tree object pachd must read is not in the stream (1.7 and 1.8 BuildCommit, and every conversion of a 1.7 commit)' },
  PACH_INVALID_NAME: { severity: 'error', summary: 'a repo, branch or pipeline name pachd refuses' },
  PACH_NAME_SANITIZED: { severity: 'hazard', summary: 'a name pachd renames on restore (characters outside [a-zA-Z0-9_-] become _)' },
  PACH_REPO_EXISTS: { severity: 'hazard', summary: 'a repo op for a repo that already exists: pachd ignores it, so its description is not applied and its commits join the existing repo' },
  PACH_REPO_NOT_FOUND: { severity: 'error', summary: 'an op on a repo that does not exist (yet)' },
  PACH_COMMIT_NO_PARENT: { severity: 'error', summary: 'a commit without a parent field (pachd needs at least its repo)' },
  PACH_PARENT_NOT_FOUND: { severity: 'error', summary: "a commit whose parent commit does not exist" },
  PACH_PARENT_NOT_FINISHED: { severity: 'error', summary: 'a commit whose parent commit is open (#4661, #4694)' },
  PACH_OPEN_COMMIT: { severity: 'hazard', summary: 'a commit pachd restores open: its data is lost and its children fail (#4676)' },
  PACH_OUTPUT_BRANCH_COMMIT: { severity: 'error', summary: 'a commit started on a branch with provenance (an output branch)' },
  PACH_PROVENANCE_NOT_FOUND: { severity: 'error', summary: 'a provenance commit that does not exist' },
  PACH_PROVENANCE_SAME_BRANCH: { severity: 'error', summary: 'commit provenance with two commits from one branch (#4540)' },
  PACH_PROVENANCE_NOT_IN_BRANCH: { severity: 'error', summary: "commit provenance on a branch the commit's branch is not provenant on" },
  PACH_COMMIT_NOT_FOUND: { severity: 'error', summary: 'a branch head that does not exist' },
  PACH_BRANCH_SELF_PROVENANCE: { severity: 'error', summary: 'a branch in its own provenance' },
  PACH_BRANCH_HEAD_PROVENANCE: { severity: 'error', summary: "a branch head whose provenance disagrees with a provenance branch's head" },
  PACH_PIPELINE_INPUT_NOT_FOUND: { severity: 'error', summary: "a pipeline input repo that does not exist" },
  PACH_OUTPUT_BRANCH_NOT_FOUND: { severity: 'error', summary: "a pipeline with a spec_commit whose output branch was not restored before it" },
  PACH_SPEC_COMMIT_NOT_FOUND: { severity: 'error', summary: "a pipeline's spec_commit that does not exist in __spec__" },
  PACH_PIPELINE_NOT_FOUND: { severity: 'error', summary: 'a job for a pipeline that does not exist' },
  PACH_ENTERPRISE_INACTIVE: { severity: 'error', summary: 'auth activated without an active enterprise token' },
  PACH_BAD_ACTIVATION_CODE: { severity: 'error', summary: 'an enterprise activation code that is not base64 JSON with a token and signature' },
  PACH_ACTIVATION_EXPIRED: { severity: 'error', summary: 'an enterprise activation code whose expiry has passed (pachd refuses it)' },
  PACH_AUTH_CONFIG_VERSION: { severity: 'error', summary: 'an auth config with a live_config_version other than 0' },
  PACH_AUTH_ACTIVE: { severity: 'error', summary: 'auth activated twice' },
  PACH_AUTH_INACTIVE: { severity: 'error', summary: 'an auth op before auth is activated' },
  PACH_TOKEN_EXPIRED: { severity: 'error', summary: 'a robot token whose expiration has passed (pachd refuses it)' },
  PACH_TOKEN_EXISTS: { severity: 'error', summary: 'the same token hash restored twice' },
} as const satisfies Record<string, ProblemClass>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface Problem {
  code: ProblemCode;
  severity: Severity;
  /** Index of the record (0-based), or -1 for the stream as a whole. */
  record: number;
  /** Op kind of that record (`commit`, `branch`, …), or '' for the stream. */
  kind: string;
  /** The names involved: `repo`, `repo@branch`, `repo@commit`, pipeline names. */
  names: string[];
  /** What is wrong, in our words. */
  message: string;
  /** What pachd would answer (its error text), or what it would do, when known. */
  pachd?: string;
}

export function severityOf(code: ProblemCode): Severity {
  return PROBLEMS[code].severity;
}
