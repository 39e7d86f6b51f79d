/**
 * 1.8 ↔ 1.9. 1.9 stores data in blocks and adds jobs, so its dumps gain
 * `block`, `create_object` and `job` ops; 1.8 has none of them, so going
 * down they leave the stream as loss (1.8's object ops still exist in every
 * later version, so going up nothing changes for data). Commit provenance
 * becomes a list of CommitProvenance{commit, branch}: pachd's converter
 * dropped it, we carry each commit (the branch is not known in 1.8). Atom
 * inputs, gone in 1.9, become pfs inputs.
 */
import type { DirectionRules, Hop, Msg } from '../mapping.js';
import { has, kept, pick, sub } from './helpers.js';

const SAME = [
  'google.protobuf.Duration', 'google.protobuf.Timestamp',
  'pfs.Block', 'pfs.Branch', 'pfs.Commit', 'pfs.CreateBranchRequest', 'pfs.CreateRepoRequest', 'pfs.Object',
  'pfs.PutObjectRequest', 'pfs.Repo', 'pfs.Tag', 'pfs.TagObjectRequest',
  'pps.ChunkSpec', 'pps.CronInput', 'pps.Egress', 'pps.GPUSpec', 'pps.GitInput', 'pps.HashtreeSpec',
  'pps.ParallelismSpec', 'pps.Pipeline', 'pps.ResourceSpec', 'pps.SchedulingSpec', 'pps.Secret',
];

const PIPELINE_COMMON =
  'pipeline transform update parallelism_spec egress output_branch resource_requests input description ' +
  'cache_size enable_stats reprocess max_queue_size service resource_limits chunk_spec datum_timeout ' +
  'job_timeout salt standby datum_tries scheduling_spec pod_spec hashtree_spec pod_patch spout';

const TRANSFORM_COMMON = 'image cmd env secrets stdin accept_return_code debug image_pull_secrets user working_dir dockerfile';
const INPUT_FIELDS = ['name', 'repo', 'branch', 'commit', 'glob', 'lazy', 'empty_files'];

const up: DirectionRules = {
  from: '1.8',
  to: '1.9',
  same: SAME,
  messages: {
    'pfs.BuildCommitRequest': {
      fields: { ...kept('parent tree branch ID'), provenance: { moved: 'each commit to provenance as CommitProvenance{commit}', wrap: { to: 'provenance', field: 'commit' } } },
      defaulted: {
        provenance: 'filled from the 1.8 provenance commits',
        trees: 'new in 1.9 (output commits; 1.8 dumps hold input commits only)',
        datums: 'new in 1.9',
        size_bytes: 'new in 1.9; pachd recomputes sizes',
      },
      move(src, out) {
        if (has(src, 'provenance')) out['provenance'] = (src['provenance'] as Msg[]).map((commit) => ({ commit }));
      },
    },
    'pps.CreatePipelineRequest': {
      fields: {
        ...kept(PIPELINE_COMMON),
        scale_down_threshold: { dropped: '1.9 has no scale_down_threshold (use standby)' },
        batch: { dropped: '1.9 has no batch pipelines' },
      },
      defaulted: { spec_commit: 'new in 1.9; pachd makes a spec commit', tf_job: 'new in 1.9' },
    },
    'pps.Transform': { fields: kept(TRANSFORM_COMMON), defaulted: { err_cmd: 'new in 1.9', err_stdin: 'new in 1.9' } },
    'pps.Input': {
      fields: { ...kept('cross union cron git pfs'), atom: { moved: 'to pfs (same fields); 1.9 has no atom inputs' } },
      defaulted: { join: 'new in 1.9' },
      move(src, out, cx, path) {
        const atom = sub(src, 'atom');
        if (!atom) return;
        if (has(out, 'pfs')) cx.lose(`${path}.atom`, 'input has both atom and pfs; 1.9 holds only pfs');
        else out['pfs'] = pick(atom, INPUT_FIELDS);
      },
    },
    'pps.PFSInput': { fields: kept(INPUT_FIELDS.join(' ')), defaulted: { join_on: 'new in 1.9' } },
    'pps.Service': { fields: kept('internal_port external_port ip'), defaulted: { type: 'new in 1.9', annotations: 'new in 1.9' } },
    'pps.Spout': { fields: kept('overwrite'), defaulted: { service: 'new in 1.9', marker: 'new in 1.9' } },
  },
  gone: { 'pps.AtomInput': 'only under Input.atom (moved to pfs)' },
  addedKinds: { job: 'new in 1.9', create_object: 'new in 1.9', block: 'new in 1.9' },
};

const down: DirectionRules = {
  from: '1.9',
  to: '1.8',
  same: SAME,
  messages: {
    'pfs.BuildCommitRequest': {
      fields: {
        ...kept('parent tree branch ID'),
        provenance: { moved: 'to provenance as the commits alone' },
        trees: { dropped: '1.8 commits have one tree; output commits are rebuilt by their pipelines' },
        datums: { dropped: '1.8 commits do not list datums' },
        size_bytes: { dropped: '1.8 commits do not carry a size' },
      },
      defaulted: { provenance: 'filled from the CommitProvenance commits' },
      move(src, out, cx, path) {
        if (!has(src, 'provenance')) return;
        const commits: Msg[] = [];
        for (const p of src['provenance'] as Msg[]) {
          if (has(p, 'branch')) cx.lose(`${path}.provenance.branch`, '1.8 provenance names commits, not their branches');
          const commit = sub(p, 'commit');
          if (commit) commits.push(commit);
          else cx.lose(`${path}.provenance`, 'a provenance entry without a commit; 1.8 lists commits only');
        }
        out['provenance'] = commits;
      },
    },
    'pps.CreatePipelineRequest': {
      fields: {
        ...kept(PIPELINE_COMMON),
        spec_commit: { dropped: '1.8 pipelines have no spec commit; pachd makes a new one' },
        tf_job: { dropped: '1.8 has no TFJob pipelines' },
      },
      defaulted: { scale_down_threshold: 'absent from 1.9', batch: 'absent from 1.9' },
    },
    'pps.Transform': {
      fields: {
        ...kept(TRANSFORM_COMMON),
        err_cmd: { dropped: '1.8 has no error command' },
        err_stdin: { dropped: '1.8 has no error command' },
      },
    },
    'pps.Input': {
      fields: { ...kept('cross union cron git pfs'), join: { dropped: '1.8 has no join inputs' } },
      defaulted: { atom: 'never filled: 1.8 reads pfs inputs' },
    },
    'pps.PFSInput': { fields: { ...kept(INPUT_FIELDS.join(' ')), join_on: { dropped: '1.8 has no join inputs' } } },
    'pps.Service': {
      fields: {
        ...kept('internal_port external_port ip'),
        type: { dropped: '1.8 services have no type' },
        annotations: { dropped: '1.8 services have no annotations' },
      },
    },
    'pps.Spout': {
      fields: {
        ...kept('overwrite'),
        service: { dropped: '1.8 spouts have no service' },
        marker: { dropped: '1.8 spouts have no marker' },
      },
    },
  },
  gone: {
    'pfs.CommitProvenance': 'only under BuildCommitRequest.provenance (moved)',
    'pps.TFJob': 'only under CreatePipelineRequest.tf_job (dropped)',
    'pps.CreateJobRequest': 'only in job ops (dropped)',
    'pps.ProcessStats': 'only in job ops (dropped)',
    'pfs.CreateObjectRequest': 'only in create_object ops (dropped)',
    'pfs.BlockRef': 'only in create_object ops (dropped)',
    'pfs.ByteRange': 'only in create_object ops (dropped)',
    'pfs.PutBlockRequest': 'only in block ops (dropped)',
  },
  droppedKinds: {
    job: '1.8 cannot restore jobs (pachd re-runs pipelines instead)',
    create_object: '1.8 has no blocks: converting 1.9+ block data to 1.8 objects is not implemented',
    block: '1.8 has no blocks: converting 1.9+ block data to 1.8 objects is not implemented',
  },
};

export const hop1_8: Hop = { up, down };
