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

/** Docker's event filter semantics: every given key must match one of its values. */
export function eventMatches(ev: EventMessage, filters: EventFilters): boolean {
  const attrs = ev.Actor.Attributes;
  for (const [key, values] of Object.entries(filters)) {
    if (!values || values.length === 0) continue;
    const ok = values.some((v) => {
      switch (key) {
        case 'type':
          return ev.Type === v;
        case 'event':
          return ev.Action === v || ev.Action.split(':')[0] === v;
        case 'container':
          return ev.Type === 'container' && (ev.Actor.ID === v || ev.Actor.ID.startsWith(v) || attrs.name === v);
        case 'image':
          return attrs.image === v || (ev.Type === 'image' && (ev.Actor.ID === v || attrs.name === v));
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in attrs : attrs[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'volume':
        case 'network':
          return ev.Type === key && (ev.Actor.ID === v || attrs.name === v);
        case 'scope':
          return ev.scope === v;
        default:
          return false;
      }
    });
    if (!ok) return false;
  }
  return true;
}
