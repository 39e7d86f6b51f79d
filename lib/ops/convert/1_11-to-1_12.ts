/**
 * 1.11 ↔ 1.12 (real 1.11.1+ releases already write 1.12 ops). Branch and
 * pfs-input triggers, group inputs, outer joins and two OIDC options are new.
 */
import type { DirectionRules, Hop } from '../mapping.js';
import { kept } from './helpers.js';

const SAME = [
  'admin.CheckAuthToken', 'auth.ACLEntry', 'auth.ActivateRequest', 'auth.AuthConfig', 'auth.AuthConfig.SAMLServiceOptions',
  'auth.ClusterRoles', 'auth.HashedAuthToken', 'auth.IDProvider', 'auth.IDProvider.GitHubOptions',
  'auth.IDProvider.SAMLOptions', 'auth.ModifyClusterRoleBindingRequest', 'auth.RestoreAuthTokenRequest',
  'auth.SetACLRequest', 'auth.SetConfigurationRequest', 'auth.TokenInfo', 'enterprise.ActivateRequest',
  'google.protobuf.Duration', 'google.protobuf.Timestamp',
  'pfs.Block', 'pfs.BlockRef', 'pfs.Branch', 'pfs.BuildCommitRequest', 'pfs.ByteRange', 'pfs.Commit',
  'pfs.CommitOrigin', 'pfs.CommitProvenance', 'pfs.CreateObjectRequest', 'pfs.CreateRepoRequest', 'pfs.Object',
  'pfs.PutBlockRequest', 'pfs.PutObjectRequest', 'pfs.Repo', 'pfs.Tag', 'pfs.TagObjectRequest',
  'pps.BuildSpec', 'pps.ChunkSpec', 'pps.CreateJobRequest', 'pps.CreatePipelineRequest', 'pps.CronInput', 'pps.Egress',
  'pps.GPUSpec', 'pps.GitInput', 'pps.HashtreeSpec', 'pps.Metadata', 'pps.ParallelismSpec', 'pps.Pipeline',
  'pps.ProcessStats', 'pps.ResourceSpec', 'pps.SchedulingSpec', 'pps.SecretMount', 'pps.Service', 'pps.Spout',
  'pps.TFJob', 'pps.Transform',
];

const BRANCH = 'head s_branch branch provenance';
const INPUT = 'cross union cron git pfs join';
const PFS_INPUT = 'name repo branch commit glob lazy empty_files join_on s3';
const OIDC = 'issuer client_id client_secret redirect_uri';

const up: DirectionRules = {
  from: '1.11',
  to: '1.12',
  same: SAME,
  messages: {
    'pfs.CreateBranchRequest': { fields: kept(BRANCH), defaulted: { trigger: 'new in 1.12' } },
    'pps.Input': { fields: kept(INPUT), defaulted: { group: 'new in 1.12' } },
    'pps.PFSInput': {
      fields: kept(PFS_INPUT),
      defaulted: { trigger: 'new in 1.12', group_by: 'new in 1.12', outer_join: 'new in 1.12' },
    },
    'auth.IDProvider.OIDCOptions': {
      fields: kept(OIDC),
      defaulted: { additional_scopes: 'new in 1.12', ignore_email_verified: 'new in 1.12' },
    },
  },
};

const down: DirectionRules = {
  from: '1.12',
  to: '1.11',
  same: SAME,
  messages: {
    'pfs.CreateBranchRequest': { fields: { ...kept(BRANCH), trigger: { dropped: '1.11 branches have no triggers' } } },
    'pps.Input': { fields: { ...kept(INPUT), group: { dropped: '1.11 has no group inputs' } } },
    'pps.PFSInput': {
      fields: {
        ...kept(PFS_INPUT),
        trigger: { dropped: '1.11 inputs have no triggers' },
        group_by: { dropped: '1.11 has no group inputs' },
        outer_join: { dropped: '1.11 has no outer joins' },
      },
    },
    'auth.IDProvider.OIDCOptions': {
      fields: {
        ...kept(OIDC),
        additional_scopes: { dropped: '1.11 OIDC has no additional scopes' },
        ignore_email_verified: { dropped: '1.11 OIDC always requires verified emails' },
      },
    },
  },
  gone: { 'pfs.Trigger': 'only under CreateBranchRequest.trigger and PFSInput.trigger (dropped)' },
};

export const hop1_11: Hop = { up, down };
