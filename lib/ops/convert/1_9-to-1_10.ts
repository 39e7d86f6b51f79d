/**
 * 1.9 ↔ 1.10. Service annotations move to the pipeline's Metadata, secrets
 * are renamed SecretMount, commits gain started/finished times. pachd's own
 * converter also dropped tf_job and join inputs here although 1.10 holds
 * them; we keep them.
 */
import type { DirectionRules, Hop, Msg } from '../mapping.js';
import { has, kept, mapOf, sub } from './helpers.js';

const SAME = [
  'google.protobuf.Duration', 'google.protobuf.Timestamp',
  'pfs.Block', 'pfs.BlockRef', 'pfs.Branch', 'pfs.ByteRange', 'pfs.Commit', 'pfs.CommitProvenance',
  'pfs.CreateBranchRequest', 'pfs.CreateObjectRequest', 'pfs.CreateRepoRequest', 'pfs.Object', 'pfs.PutBlockRequest',
  'pfs.PutObjectRequest', 'pfs.Repo', 'pfs.Tag', 'pfs.TagObjectRequest',
  'pps.ChunkSpec', 'pps.CreateJobRequest', 'pps.CronInput', 'pps.Egress', 'pps.GPUSpec', 'pps.GitInput',
  'pps.HashtreeSpec', 'pps.Input', 'pps.ParallelismSpec', 'pps.Pipeline', 'pps.ProcessStats', 'pps.ResourceSpec',
  'pps.SchedulingSpec', 'pps.Spout', 'pps.TFJob',
];

const COMMIT_COMMON = 'parent tree branch ID provenance trees datums size_bytes';
const PIPELINE_COMMON =
  'pipeline transform update parallelism_spec egress output_branch resource_requests input description ' +
  'cache_size enable_stats reprocess max_queue_size service resource_limits chunk_spec datum_timeout ' +
  'job_timeout salt standby datum_tries scheduling_spec pod_spec hashtree_spec pod_patch spout spec_commit tf_job';
const TRANSFORM = 'image cmd env secrets stdin accept_return_code debug image_pull_secrets user working_dir dockerfile err_cmd err_stdin';
const SECRET = 'name mount_path env_var key';
const PFS_INPUT = 'name repo branch commit glob lazy empty_files join_on';

/** The service whose annotations a 1.9 pipeline carries: its own, else its spout's. */
function serviceOf(pipeline: Msg): Msg | undefined {
  return sub(pipeline, 'service') ?? sub(sub(pipeline, 'spout'), 'service');
}

const up: DirectionRules = {
  from: '1.9',
  to: '1.10',
  same: SAME,
  messages: {
    'pfs.BuildCommitRequest': {
      fields: kept(COMMIT_COMMON),
      defaulted: { started: 'new in 1.10; unknown for older commits', finished: 'new in 1.10; pachd stamps restore time' },
    },
    'pps.CreatePipelineRequest': {
      fields: kept(PIPELINE_COMMON),
      defaulted: {
        s3_out: 'new in 1.10',
        metadata: 'filled with the service annotations',
        sidecar_resource_limits: 'new in 1.10',
      },
      move(src, out, cx, path) {
        // Only the service 1.10 → 1.9 can put them back on: the pipeline's own, else the spout's.
        const home = serviceOf(src);
        const annotations = mapOf(home, 'annotations');
        const other = home === sub(src, 'service') ? mapOf(sub(sub(src, 'spout'), 'service'), 'annotations') : undefined;
        if (other) cx.lose(`${path}.spout.service.annotations`, "1.10 keeps one set of annotations per pipeline, on the pipeline's service");
        if (annotations) out['metadata'] = { annotations };
      },
    },
    'pps.Transform': { fields: kept(TRANSFORM) },
    'pps.Secret': { to: 'pps.SecretMount', fields: kept(SECRET) },
    'pps.PFSInput': { fields: kept(PFS_INPUT), defaulted: { s3: 'new in 1.10' } },
    'pps.Service': {
      fields: { ...kept('internal_port external_port ip type'), annotations: { moved: 'to CreatePipelineRequest.metadata.annotations' } },
    },
  },
};

const down: DirectionRules = {
  from: '1.10',
  to: '1.9',
  same: SAME,
  messages: {
    'pfs.BuildCommitRequest': {
      fields: {
        ...kept(COMMIT_COMMON),
        started: { dropped: '1.9 commits have no start time' },
        finished: { dropped: '1.9 commits have no finish time; pachd stamps restore time' },
      },
    },
    'pps.CreatePipelineRequest': {
      fields: {
        ...kept(PIPELINE_COMMON),
        s3_out: { dropped: '1.9 has no S3 output' },
        metadata: { moved: 'annotations to the service (or the spout\'s service); labels are lost' },
        sidecar_resource_limits: { dropped: '1.9 has no sidecar resource limits' },
      },
      move(src, out, cx, path) {
        const metadata = sub(src, 'metadata');
        if (!metadata) return;
        const labels = mapOf(metadata, 'labels');
        const annotations = mapOf(metadata, 'annotations');
        if (labels) cx.lose(`${path}.metadata.labels`, '1.9 pipelines have no labels');
        if (!labels && !annotations) cx.lose(`${path}.metadata`, 'an empty metadata message; 1.9 has no metadata to set');
        if (!annotations) return;
        if (has(src, 'service')) {
          out['service'] = { ...(out['service'] as Msg), annotations };
        } else if (serviceOf(src)) {
          const spout = out['spout'] as Msg;
          out['spout'] = { ...spout, service: { ...(spout['service'] as Msg), annotations } };
        } else {
          cx.lose(`${path}.metadata.annotations`, '1.9 keeps annotations on a service; this pipeline has none');
        }
      },
    },
    'pps.Transform': { fields: kept(TRANSFORM) },
    'pps.SecretMount': { to: 'pps.Secret', fields: kept(SECRET) },
    'pps.PFSInput': { fields: { ...kept(PFS_INPUT), s3: { dropped: '1.9 has no S3 inputs' } } },
    'pps.Service': {
      fields: kept('internal_port external_port ip type'),
      defaulted: { annotations: 'filled from the pipeline metadata' },
    },
  },
  gone: { 'pps.Metadata': 'only under CreatePipelineRequest.metadata (moved)' },
};

export const hop1_9: Hop = { up, down };
