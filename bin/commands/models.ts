/**
 * @module commands/models
 * `larder models list|show|history|register|approve|reject|archive|promote|rollback`: the model
 * registry from the command line. Every change records who (`--who`, default the OS user) and
 * why (`--why`).
 */
import { resolve } from 'node:path';
import { resolveLineage } from '../../registry/models/lineage.ts';
import type { ModelRegistry } from '../../registry/models/store.ts';
import type { Actor } from '../../registry/models/types.ts';
import { openStore, type FeatureStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError, type Io } from '../output.ts';
import { formatModel, modelJson } from './model-output.ts';

const USAGE = `Usage: larder models list
       larder models show NAME[@VERSION|@ALIAS]
       larder models history NAME
       larder models register NAME --artifact FILE.onnx --service SERVICE [--label COL] [--dataset ID]
       larder models approve|reject|archive NAME@VERSION
       larder models promote NAME@VERSION [--alias champion]
       larder models rollback NAME [--alias champion]
  common: [--who NAME] [--why TEXT] [--project DIR] [--json]

The model registry. Versions are immutable; status moves registered → approved → deployed
(plus rejected, archived). promote points an alias (default champion) at an approved version;
rollback moves the alias back to the version it served before its last deployment. register adds
a model trained elsewhere (e.g. scikit-learn through skl2onnx): its inputs must be one per feature
of the service, named like the features, or one [N, features] numeric input in service order.`;

/** `name@ref` → parts; `ref` defaults to `fallback`. */
export function parseModelRef(text: string | undefined, fallback: string | undefined, usage: string): { name: string; ref: string } {
  if (text === undefined || text === '') throw usageError(`give a model\n${usage}`);
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  const ref = at < 0 ? fallback : text.slice(at + 1);
  if (name === '' || ref === undefined || ref === '') throw usageError(`write the model as NAME@VERSION or NAME@ALIAS (got ${JSON.stringify(text)})\n${usage}`);
  return { name, ref };
}

function actorOf(values: CommandContext['values']): Actor {
  const who = typeof values.who === 'string' ? values.who : undefined;
  const why = typeof values.why === 'string' ? values.why : undefined;
  return { ...(who === undefined ? {} : { who }), ...(why === undefined ? {} : { why }) };
}

async function show(io: Io, store: FeatureStore, models: ModelRegistry, name: string, ref: string): Promise<void> {
  const v = await models.show(name, ref);
  const shape = modelJson(v, await resolveLineage(v, store.registry), models.artifactPath(v.sha256));
  io.out(io.json ? JSON.stringify(shape, null, 2) : formatModel(shape));
}

async function run(io: Io, store: FeatureStore, ctx: CommandContext): Promise<number> {
  const [sub, target] = ctx.positionals;
  const models = store.models();
  const actor = actorOf(ctx.values);
  const alias = typeof ctx.values.alias === 'string' ? ctx.values.alias : 'champion';
  switch (sub) {
    case 'list': {
      const list = await models.list();
      if (io.json) { io.out(JSON.stringify(list, null, 2)); return EXIT.ok; }
      if (list.length === 0) io.out('no models registered');
      for (const m of list) {
        const aliases = Object.entries(m.aliases).map(([a, v]) => `${a}=${v}`).join(' ');
        io.out(`${m.name.padEnd(20)} ${String(m.versions).padStart(3)} versions  latest ${m.latest}${aliases ? `  ${aliases}` : ''}`);
      }
      return EXIT.ok;
    }
    case 'show': {
      const { name, ref } = parseModelRef(target, 'latest', USAGE);
      await show(io, store, models, name, ref);
      return EXIT.ok;
    }
    case 'history': {
      const { name } = parseModelRef(target, 'latest', USAGE);
      const history = await models.history(name);
      if (io.json) { io.out(JSON.stringify(history, null, 2)); return EXIT.ok; }
      for (const c of history.changes) io.out(`${c.at}  ${c.version.padEnd(8)} ${c.from ?? '-'} → ${c.to}  by ${c.who}${c.why ? `: ${c.why}` : ''}`);
      for (const d of history.deploys) io.out(`${d.at}  ${d.alias} ${d.from ?? '-'} → ${d.to ?? '-'}${d.rollback ? ' (rollback)' : ''}  by ${d.who}${d.why ? `: ${d.why}` : ''}`);
      return EXIT.ok;
    }
    case 'register': {
      const { name } = parseModelRef(target, 'latest', USAGE);
      const artifact = ctx.values.artifact;
      const service = ctx.values.service;
      if (typeof artifact !== 'string' || typeof service !== 'string') throw usageError(`register needs --artifact FILE.onnx and --service SERVICE\n${USAGE}`);
      const { features, version } = await store.serviceFeatures(service);
      const label = typeof ctx.values.label === 'string' ? ctx.values.label : undefined;
      const dataset = typeof ctx.values.dataset === 'string' ? ctx.values.dataset : undefined;
      const { model, created } = await models.register({
        name, artifact: resolve(ctx.projectDir, artifact), featureService: service, serviceFeatures: features,
        ...(version === null ? {} : { featureServiceVersion: version }),
        ...(label === undefined ? {} : { label }), ...(dataset === undefined ? {} : { dataset }), ...actor,
      });
      if (!created && !io.json) io.out(`already registered as ${name}@${model.version}`);
      await show(io, store, models, name, model.version);
      return EXIT.ok;
    }
    case 'approve':
    case 'reject':
    case 'archive': {
      const { name, ref } = parseModelRef(target, undefined, USAGE);
      const v = await models.setStatus(name, ref, sub === 'approve' ? 'approved' : sub === 'reject' ? 'rejected' : 'archived', actor);
      io.out(io.json ? JSON.stringify({ model: name, version: v.version, status: v.status }) : `${name}@${v.version} is ${v.status}`);
      return EXIT.ok;
    }
    case 'promote': {
      const { name, ref } = parseModelRef(target, undefined, USAGE);
      const before = (await models.list()).find((m) => m.name === name)?.aliases[alias] ?? null;
      const v = await models.deploy(name, ref, { ...actor, alias });
      io.out(io.json ? JSON.stringify({ model: name, alias, from: before, to: v.version }) : `${name}@${alias}: ${before ?? '-'} → ${v.version}`);
      return EXIT.ok;
    }
    case 'rollback': {
      const { name } = parseModelRef(target, 'latest', USAGE);
      const { from, to } = await models.rollback(name, alias, actor);
      io.out(io.json ? JSON.stringify({ model: name, alias, from, to: to.version }) : `${name}@${alias}: ${from} → ${to.version} (rollback)`);
      return EXIT.ok;
    }
    default:
      throw usageError(`unknown models subcommand ${JSON.stringify(sub ?? '')}\n${USAGE}`);
  }
}

export const modelsCommand: Command = {
  summary: 'the model registry: list, show, register, approve, reject, promote, rollback',
  usage: USAGE,
  options: {
    who: { type: 'string' }, why: { type: 'string' }, alias: { type: 'string' },
    artifact: { type: 'string' }, service: { type: 'string' }, label: { type: 'string' }, dataset: { type: 'string' },
  },
  async run(ctx: CommandContext): Promise<number> {
    const store = await openStore({ dir: ctx.projectDir });
    try {
      return await run(ctx.io, store, ctx);
    } finally {
      await store.close();
    }
  },
};
