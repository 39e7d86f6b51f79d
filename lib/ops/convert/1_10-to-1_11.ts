/**
 * 1.10 ↔ 1.11. Commits gain their origin (USER, AUTO, FSCK), transforms a
 * build spec, and dumps gain the auth and enterprise ops. pachd's converter
 * dropped started/finished, s3_out, tf_job, s3 inputs, labels and joins
 * here although 1.11 holds them all; we keep them.
 */
import type { DirectionRules, Hop } from '../mapping.js';
import { kept } from './helpers.js';

const SAME = [
  'google.protobuf.Duration', 'google.protobuf.Timestamp',
  'pfs.Block', 'pfs.BlockRef', 'pfs.Branch', 'pfs.ByteRange', 'pfs.Commit', 'pfs.CommitProvenance',
  'pfs.CreateBranchRequest', 'pfs.CreateObjectRequest', 'pfs.CreateRepoRequest', 'pfs.Object', 'pfs.PutBlockRequest',
  'pfs.PutObjectRequest', 'pfs.Repo', 'pfs.Tag', 'pfs.TagObjectRequest',
  'pps.ChunkSpec', 'pps.CreateJobRequest', 'pps.CreatePipelineRequest', 'pps.CronInput', 'pps.Egress', 'pps.GPUSpec',
  'pps.GitInput', 'pps.HashtreeSpec', 'pps.Input', 'pps.Metadata', 'pps.PFSInput', 'pps.ParallelismSpec',
  'pps.Pipeline', 'pps.ProcessStats', 'pps.ResourceSpec', 'pps.SchedulingSpec', 'pps.SecretMount', 'pps.Service',
  'pps.Spout', 'pps.TFJob',
];

const COMMIT = 'parent tree branch ID provenance trees datums size_bytes started finished';
const TRANSFORM = 'image cmd env secrets stdin accept_return_code debug image_pull_secrets user working_dir dockerfile err_cmd err_stdin';
const AUTH_KINDS = {
  set_acl: 'new in 1.11',
  set_cluster_role_binding: 'new in 1.11',
  set_auth_config: 'new in 1.11',
  activate_auth: 'new in 1.11',
  restore_auth_token: 'new in 1.11',
  activate_enterprise: 'new in 1.11',
  check_auth_token: 'new in 1.11',
} as const;

const NO_AUTH = '1.10 dumps carry no auth or enterprise state: restore leaves auth and enterprise inactive';

const up: DirectionRules = {
  from: '1.10',
  to: '1.11',
  same: SAME,
  messages: {
    'pfs.BuildCommitRequest': { fields: kept(COMMIT), defaulted: { origin: 'new in 1.11; pachd takes USER when unset' } },
    'pps.Transform': { fields: kept(TRANSFORM), defaulted: { build: 'new in 1.11' } },
  },
  addedKinds: AUTH_KINDS,
};

const down: DirectionRules = {
  from: '1.11',
  to: '1.10',
  same: SAME,
  messages: {
    'pfs.BuildCommitRequest': {
      fields: { ...kept(COMMIT), origin: { dropped: '1.10 commits have no origin; pachd takes USER' } },
    },
    'pps.Transform': { fields: { ...kept(TRANSFORM), build: { dropped: '1.10 has no build pipelines' } } },
  },
  gone: {
    'pfs.CommitOrigin': 'only under BuildCommitRequest.origin (dropped)',
    'pps.BuildSpec': 'only under Transform.build (dropped)',
    'auth.SetACLRequest': 'only in set_acl ops (dropped)',
    'auth.ACLEntry': 'only in set_acl ops (dropped)',
    'auth.ModifyClusterRoleBindingRequest': 'only in set_cluster_role_binding ops (dropped)',
    'auth.ClusterRoles': 'only in set_cluster_role_binding ops (dropped)',
    'auth.SetConfigurationRequest': 'only in set_auth_config ops (dropped)',
    'auth.AuthConfig': 'only in set_auth_config ops (dropped)',
    'auth.IDProvider': 'only in set_auth_config ops (dropped)',
    'auth.IDProvider.SAMLOptions': 'only in set_auth_config ops (dropped)',
    'auth.IDProvider.GitHubOptions': 'only in set_auth_config ops (dropped)',
    'auth.IDProvider.OIDCOptions': 'only in set_auth_config ops (dropped)',
    'auth.AuthConfig.SAMLServiceOptions': 'only in set_auth_config ops (dropped)',
    'auth.ActivateRequest': 'only in activate_auth ops (dropped)',
    'auth.RestoreAuthTokenRequest': 'only in restore_auth_token ops (dropped)',
    'auth.HashedAuthToken': 'only in restore_auth_token ops (dropped)',
    'auth.TokenInfo': 'only in restore_auth_token ops (dropped)',
    'enterprise.ActivateRequest': 'only in activate_enterprise ops (dropped)',
    'admin.CheckAuthToken': 'only in check_auth_token ops (dropped)',
  },
  droppedKinds: {
    set_acl: NO_AUTH,
    set_cluster_role_binding: NO_AUTH,
    set_auth_config: NO_AUTH,
    activate_auth: NO_AUTH,
    restore_auth_token: NO_AUTH,
    activate_enterprise: NO_AUTH,
    check_auth_token: '1.10 restores do not check the caller\'s token first',
  },
};

export const hop1_10: Hop = { up, down };
