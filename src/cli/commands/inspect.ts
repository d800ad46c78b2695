import { ApiError, type EngineClient } from '../../client/index.js';
import { StatusError, type CliContext, type CommandImpl } from '../command.js';
import type { Template } from '../format/index.js';
import { INSPECT_FORMAT_HELP } from '../options/container-options.js';
import { compactJson, indentJson } from '../support/json-indent.js';

// `berth inspect`, `berth container inspect`, `berth image inspect`: the
// daemon's JSON as an indented array (key order and escapes as sent), or a
// Go template per object.

const ALL_TYPES = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];
const SWARM_TYPES = new Set(['config', 'node', 'secret', 'service', 'task']);

type RawInspector = (ref: string) => Promise<string>;

function rawInspector(client: EngineClient, type: string, size: boolean): RawInspector {
  const get = async (path: string) => (await client.requestText('GET', path)).text;
  const id = encodeURIComponent;
  switch (type) {
    case 'container':
      return (ref) => client.containerInspectRaw(ref, { size });
    case 'image':
      return (ref) => client.imageInspectRaw(ref);
    case 'network':
      return (ref) => get(`/networks/${id(ref)}`);
    case 'volume':
      return (ref) => get(`/volumes/${id(ref)}`);
    case 'plugin':
      return (ref) => get(`/plugins/${id(ref)}/json`);
    case 'service':
      return (ref) => get(`/services/${id(ref)}?insertDefaults=1`);
    case 'task':
      return (ref) => get(`/tasks/${id(ref)}`);
    case 'node':
      return (ref) => get(`/nodes/${id(ref)}`);
    case 'secret':
      return (ref) => get(`/secrets/${id(ref)}`);
    default:
      return (ref) => get(`/configs/${id(ref)}`);
  }
}

/** docker's isErrSkippable: try the next object type. */
function skippable(err: unknown): boolean {
  if (err instanceof ApiError && err.statusCode === 404) return true;
  const message = err instanceof Error ? err.message : '';
  return message.includes('not supported') || message.includes('invalid reference format');
}

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.toString();
  return err instanceof Error ? err.message : String(err);
}

/** docker's inspect.Inspect: collects every object, prints them together, reports failures after. */
export async function inspectAll(ctx: CliContext, refs: string[], format: string, getRaw: RawInspector): Promise<number> {
  // The template engine is only loaded when there is a template.
  const engine = format !== '' && format !== 'json' ? await import('../format/index.js') : undefined;
  let template: Template | undefined;
  if (engine) {
    try {
      template = engine.parseTemplate(format);
    } catch (err) {
      if (err instanceof engine.TemplateError) throw new StatusError(`template parsing error: ${err.message}`, 64);
      throw err;
    }
  }
  const raws: string[] = [];
  const errors: string[] = [];
  let output = '';
  for (const ref of refs) {
    let raw: string;
    try {
      raw = await getRaw(ref);
    } catch (err) {
      errors.push(describe(err));
      continue;
    }
    if (!template) {
      raws.push(raw);
      continue;
    }
    try {
      output += template.execute(JSON.parse(raw)) + '\n';
    } catch (err) {
      if (engine && err instanceof engine.TemplateError) errors.push(`template parsing error: ${err.message}`);
      else throw err;
    }
  }
  if (template) ctx.out(output === '' ? '\n' : output);
  else if (raws.length === 0) ctx.out('[]\n');
  else {
    const array = `[${raws.join(',')}]`;
    ctx.out((format === 'json' ? compactJson(array) : indentJson(array)) + '\n');
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

interface InspectValues {
  format: string;
  type: string;
  size: boolean;
}

export const inspectCommand: CommandImpl<InspectValues> = {
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'type', kind: 'string', usage: 'Only inspect objects of the given type' },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes if the type is container' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, refs, parsed) {
    const typeList = `"${ALL_TYPES.join('", "')}"`;
    if (parsed.changed.has('type') && values.type === '') throw new StatusError(`type is empty: must be one of ${typeList}`, 1);
    if (values.type !== '' && !ALL_TYPES.includes(values.type)) throw new StatusError(`unknown type: ${JSON.stringify(values.type)}: must be one of ${typeList}`, 1);
    const client = ctx.client();
    let swarmManager: boolean | undefined;
    const isSwarmManager = async () => {
      if (swarmManager === undefined) {
        try {
          swarmManager = (await client.info()).Swarm?.ControlAvailable === true;
        } catch (err) {
          ctx.err(`${describe(err)}\n`);
          swarmManager = false;
        }
      }
      return swarmManager;
    };
    const order = ['container', 'image', 'network', 'volume', 'service', 'task', 'node', 'plugin', 'secret', 'config'];
    return inspectAll(ctx, refs, values.format, async (ref) => {
      for (const type of order) {
        if (values.type !== '' && type !== values.type) continue;
        if (values.type === '' && SWARM_TYPES.has(type) && !(await isSwarmManager())) continue;
        try {
          const raw = await rawInspector(client, type, values.size)(ref);
          if (values.size && type !== 'container') ctx.err(`WARNING: --size ignored for ${type}\n`);
          return raw;
        } catch (err) {
          if (values.type === '' && skippable(err)) continue;
          throw err;
        }
      }
      throw new Error(`Error: No such object: ${ref}`);
    });
  },
};

export const containerInspectCommand: CommandImpl<{ format: string; size: boolean }> = {
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, refs) {
    const client = ctx.client();
    return inspectAll(ctx, refs, values.format, (ref) => client.containerInspectRaw(ref, { size: values.size }));
  },
};

export const imageInspectCommand: CommandImpl<{ format: string; platform: string }> = {
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    {
      name: 'platform',
      kind: 'string',
      usage:
        "Inspect a specific platform of the multi-platform image.\nIf the image or the server is not multi-platform capable, the command will error out if the platform does not match.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
    },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, refs) {
    const client = ctx.client();
    return inspectAll(ctx, refs, values.format, (ref) => client.imageInspectRaw(ref));
  },
};
