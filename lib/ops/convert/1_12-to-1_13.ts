/**
 * 1.12 ↔ 1.13: two pipeline fields are new (autoscaling, reprocess_spec).
 * Everything else, including every auth op, is the same on the wire.
 */
import type { DirectionRules, Hop } from '../mapping.js';
import { kept } from './helpers.js';

const SAME = [
  'admin.CheckAuthToken', 'auth.ACLEntry', 'auth.ActivateRequest', 'auth.AuthConfig', 'auth.AuthConfig.SAMLServiceOptions',
  'auth.ClusterRoles', 'auth.HashedAuthToken', 'auth.IDProvider', 'auth.IDProvider.GitHubOptions',
  'auth.IDProvider.OIDCOptions', 'auth.IDProvider.SAMLOptions', 'auth.ModifyClusterRoleBindingRequest',
  'auth.RestoreAuthTokenRequest', 'auth.SetACLRequest', 'auth.SetConfigurationRequest', 'auth.TokenInfo',
  'enterprise.ActivateRequest', 'google.protobuf.Duration', 'google.protobuf.Timestamp',
  'pfs.Block', 'pfs.BlockRef', 'pfs.Branch', 'pfs.BuildCommitRequest', 'pfs.ByteRange', 'pfs.Commit',
  'pfs.CommitOrigin', 'pfs.CommitProvenance', 'pfs.CreateBranchRequest', 'pfs.CreateObjectRequest',
  'pfs.CreateRepoRequest', 'pfs.Object', 'pfs.PutBlockRequest', 'pfs.PutObjectRequest', 'pfs.Repo', 'pfs.Tag',
  'pfs.TagObjectRequest', 'pfs.Trigger',
  'pps.BuildSpec', 'pps.ChunkSpec', 'pps.CreateJobRequest', 'pps.CronInput', 'pps.Egress', 'pps.GPUSpec',
  'pps.GitInput', 'pps.HashtreeSpec', 'pps.Input', 'pps.Metadata', 'pps.PFSInput', 'pps.ParallelismSpec',
  'pps.Pipeline', 'pps.ProcessStats', 'pps.ResourceSpec', 'pps.SchedulingSpec', 'pps.SecretMount', 'pps.Service',
  'pps.Spout', 'pps.TFJob', 'pps.Transform',
];

const PIPELINE =
  'pipeline transform update parallelism_spec egress output_branch resource_requests input description ' +
  'cache_size enable_stats reprocess max_queue_size service resource_limits chunk_spec datum_timeout ' +
  'job_timeout salt standby datum_tries scheduling_spec pod_spec hashtree_spec pod_patch spout spec_commit ' +
  'tf_job s3_out metadata sidecar_resource_limits';

const up: DirectionRules = {
  from: '1.12',
  to: '1.13',
  same: SAME,
  messages: {
    'pps.CreatePipelineRequest': {
      fields: kept(PIPELINE),
      defaulted: { autoscaling: 'new in 1.13', reprocess_spec: 'new in 1.13' },
    },
  },
};

const down: DirectionRules = {
  from: '1.13',
  to: '1.12',
  same: SAME,
  messages: {
    'pps.CreatePipelineRequest': {
      fields: {
        ...kept(PIPELINE),
        autoscaling: { dropped: '1.12 pipelines do not autoscale' },
        reprocess_spec: { dropped: '1.12 has no reprocess_spec' },
      },
    },
  },
};

export const hop1_12: Hop = { up, down };
