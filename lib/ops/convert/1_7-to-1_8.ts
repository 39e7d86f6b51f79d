/**
 * 1.7 ↔ 1.8. Upward, atom inputs become pfs inputs (as pachd's own 1.7
 * converter does; 1.8 still reads atom, 1.9 no longer does) and a GPU count
 * becomes a GPUSpec. pachd also dropped the salt and the commit provenance
 * here; 1.8 holds both, so we keep them. The commit trees change format at
 * this hop as well: that is done on the objects themselves by trees.ts,
 * which the ladder runs beside this table.
 */
import type { DirectionRules, Hop } from '../mapping.js';
import { has, kept, pick, sub } from './helpers.js';

const SAME = [
  'google.protobuf.Duration', 'google.protobuf.Timestamp',
  'pfs.Branch', 'pfs.BuildCommitRequest', 'pfs.Commit', 'pfs.CreateBranchRequest', 'pfs.CreateRepoRequest',
  'pfs.Object', 'pfs.Repo', 'pfs.Tag', 'pfs.TagObjectRequest',
  'pps.AtomInput', 'pps.ChunkSpec', 'pps.Egress', 'pps.GitInput', 'pps.HashtreeSpec', 'pps.ParallelismSpec',
  'pps.Pipeline', 'pps.SchedulingSpec', 'pps.Secret', 'pps.Service',
];

const PIPELINE_COMMON =
  'pipeline transform update parallelism_spec egress output_branch scale_down_threshold resource_requests input ' +
  'description cache_size enable_stats reprocess batch max_queue_size service resource_limits chunk_spec ' +
  'datum_timeout job_timeout salt standby datum_tries scheduling_spec pod_spec hashtree_spec';

const TRANSFORM_COMMON = 'image cmd env secrets stdin accept_return_code debug image_pull_secrets user working_dir';

/** AtomInput and PFSInput share these fields (empty_files is #8 in one and #7 in the other). */
const INPUT_FIELDS = ['name', 'repo', 'branch', 'commit', 'glob', 'lazy', 'empty_files'] as const;

/** The resource name pachd 1.8 gives a 1.7 GPU count. */
export const NVIDIA_GPU = 'nvidia.com/gpu';

const up: DirectionRules = {
  from: '1.7',
  to: '1.8',
  same: SAME,
  messages: {
    'pfs.PutObjectRequest': {
      fields: kept('value tags'),
      defaulted: { block: '1.7 objects never name a block' },
    },
    'pps.CreatePipelineRequest': {
      fields: {
        ...kept(PIPELINE_COMMON),
        incremental: { dropped: '1.8 has no incremental pipelines: the pipeline processes every datum in full' },
      },
      defaulted: { pod_patch: 'new in 1.8', spout: 'new in 1.8' },
    },
    'pps.Transform': { fields: kept(TRANSFORM_COMMON), defaulted: { dockerfile: 'new in 1.8' } },
    'pps.ResourceSpec': {
      fields: { ...kept('cpu memory disk'), gpu: { moved: 'to gpu as GPUSpec{type "nvidia.com/gpu", number}' } },
      defaulted: { gpu: 'filled from the 1.7 GPU count' },
      move(src, out) {
        if (has(src, 'gpu')) out['gpu'] = { type: NVIDIA_GPU, number: src['gpu'] };
      },
    },
    'pps.Input': {
      fields: { ...kept('cross union cron git'), atom: { moved: 'to pfs (same fields), as pachd 1.8 does' } },
      defaulted: { pfs: 'filled from atom', atom: 'never filled: atom inputs become pfs inputs' },
      move(src, out) {
        const atom = sub(src, 'atom');
        if (atom) out['pfs'] = pick(atom, INPUT_FIELDS);
      },
    },
    'pps.CronInput': { fields: kept('name repo commit spec start'), defaulted: { overwrite: 'new in 1.8' } },
  },
};

const down: DirectionRules = {
  from: '1.8',
  to: '1.7',
  same: SAME,
  messages: {
    'pfs.PutObjectRequest': {
      fields: { ...kept('value tags'), block: { dropped: '1.7 objects cannot name their block' } },
    },
    'pps.CreatePipelineRequest': {
      fields: {
        ...kept(PIPELINE_COMMON),
        pod_patch: { dropped: '1.7 has no pod_patch' },
        spout: { dropped: '1.7 has no spouts' },
      },
      defaulted: { incremental: 'absent from 1.8 pipelines' },
    },
    'pps.Transform': {
      fields: { ...kept(TRANSFORM_COMMON), dockerfile: { dropped: '1.7 has no dockerfile' } },
    },
    'pps.ResourceSpec': {
      fields: { ...kept('cpu memory disk'), gpu: { moved: 'to the gpu count when its type is nvidia.com/gpu' } },
      defaulted: { gpu: 'filled from GPUSpec.number' },
      move(src, out, cx, path) {
        const gpu = sub(src, 'gpu');
        if (!gpu) return;
        const type = has(gpu, 'type') ? String(gpu['type']) : '';
        if (type === NVIDIA_GPU || type === '') {
          if (has(gpu, 'number')) out['gpu'] = gpu['number'];
          else cx.lose(`${path}.gpu`, 'a GPUSpec without a count; 1.7 has only the count');
          if (type === '') cx.lose(`${path}.gpu.type`, `an unset GPU type; 1.7 counts ${NVIDIA_GPU} GPUs, which converting up names`);
        } else {
          cx.lose(`${path}.gpu`, `1.7 counts only ${NVIDIA_GPU} GPUs, not ${type}`);
        }
      },
    },
    'pps.Input': {
      fields: { ...kept('atom cross union cron git'), pfs: { moved: 'to atom (same fields)' } },
      defaulted: {},
      move(src, out, cx, path) {
        const pfs = sub(src, 'pfs');
        if (!pfs) return;
        if (has(out, 'atom')) cx.lose(`${path}.pfs`, 'input has both atom and pfs; 1.7 holds only atom');
        else out['atom'] = pick(pfs, INPUT_FIELDS);
      },
    },
    'pps.CronInput': {
      fields: { ...kept('name repo commit spec start'), overwrite: { dropped: '1.7 cron inputs cannot overwrite' } },
    },
  },
  gone: {
    'pfs.Block': 'only under PutObjectRequest.block (dropped)',
    'pps.GPUSpec': 'only under ResourceSpec.gpu (moved)',
    'pps.PFSInput': 'only under Input.pfs (moved to atom)',
    'pps.Spout': 'only under CreatePipelineRequest.spout (dropped)',
  },
};

export const hop1_7: Hop = { up, down };
