import type { EventMessage } from '../types/engine.js';

// In-memory event bus behind GET /events. Keeps a bounded history so that
// `--since` can replay recent events, like dockerd's events ring buffer.

const HISTORY_LIMIT = 1024;

export type EventType = EventMessage['Type'];

export interface EventFilters {
  [key: string]: string[] | undefined;
}

export type EventListener = (ev: EventMessage) => void;

export class EventBus {
  private readonly history: EventMessage[] = [];
  private readonly listeners = new Set<EventListener>();

  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): EventMessage {
    const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime.bigint() % 1_000_000n);
    const ev: EventMessage = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    // Old clients (API < 1.22 style) still read these.
    if (type === 'container' || type === 'image') {
      ev.status = action;
      ev.id = id;
      if (attributes.image) ev.from = attributes.image;
    }
    this.history.push(ev);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    for (const l of this.listeners) l(ev);
    return ev;
  }

  /** Events already in history at or after `sinceNs` (and before `untilNs`). */
  replay(sinceNs: bigint, untilNs?: bigint): EventMessage[] {
    return this.history.filter((ev) => {
      const t = BigInt(ev.timeNano);
      return t >= sinceNs && (untilNs === undefined || t <= untilNs);
    });
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The event filter keys dockerd accepts. */
export const EVENT_FILTER_KEYS = ['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume'];

/**
 * dockerd's event filter (daemon/events/filter.go): every given key must
 * match. type, event, scope and image match exactly (health_status,
 * exec_create and exec_start as prefixes, their actions carry a suffix);
 * container, network and volume match the actor's ID or name by prefix and
 * only events of that type; image matches an image event's ID or name, a
 * container event's image, each with or without its tag; every label filter
 * must hold (key present, or key=value).
 */
export function eventMatches(ev: EventMessage, filters: EventFilters): boolean {
  const attrs = ev.Actor.Attributes;
  const given = (key: string) => (filters[key]?.length ?? 0) > 0;
  const exact = (key: string, ...sources: string[]) => !given(key) || filters[key]!.some((v) => sources.includes(v));
  const fuzzy = (key: string, ...sources: string[]) => !given(key) || filters[key]!.some((v) => sources.some((s) => s !== '' && (s === v || s.startsWith(v))));
  const byName = (type: string) => !given(type) || (ev.Type === type && fuzzy(type, ev.Actor.ID, attrs.name ?? ''));
  const fuzzyActions = ['health_status', 'exec_create', 'exec_start'];
  const eventOk = !given('event') || (filters.event!.some((v) => fuzzyActions.includes(v))
    ? fuzzy('event', ev.Action)
    : exact('event', ev.Action));
  const imageName = (ev.Type === 'image' ? attrs.name : attrs.image) ?? '';
  return (
    eventOk &&
    exact('type', ev.Type) &&
    exact('scope', ev.scope ?? 'local') &&
    byName('container') &&
    byName('network') &&
    byName('volume') &&
    byName('plugin') &&
    byName('daemon') &&
    byName('node') &&
    byName('service') &&
    byName('secret') &&
    byName('config') &&
    exact('image', ev.Actor.ID, imageName, stripTag(ev.Actor.ID), stripTag(imageName)) &&
    (filters.label ?? []).every((v) => {
      const eq = v.indexOf('=');
      return eq < 0 ? v in attrs : attrs[v.slice(0, eq)] === v.slice(eq + 1);
    })
  );
}

/** A reference without its tag or digest ("busybox:1" -> "busybox"); IDs stay as they are. */
function stripTag(ref: string): string {
  if (ref === '' || /^sha256:[0-9a-f]+$/.test(ref)) return ref;
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}
