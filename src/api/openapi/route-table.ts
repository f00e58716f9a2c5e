import type { Express } from 'express';
import { routeDocOf, type RouteDoc } from '../route-doc';

export interface RouteEntry {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path, e.g. /api/v1/leads/:id */
  path: string;
  doc?: RouteDoc;
}

interface Layer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  handle?: { stack?: Layer[] };
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

function join(prefix: string, path: string): string {
  const joined = `${prefix}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/**
 * Every route the app answers, found by walking Express's own router stack, with the RouteDoc
 * its first handler carries. The route table is the index of the API: docs and the auth test both
 * read it, so a route cannot exist without being documented and checked.
 */
export function routeTable(app: Express): RouteEntry[] {
  const out: RouteEntry[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          if (typeof p !== 'string') continue;
          for (const method of Object.keys(layer.route.methods)) {
            if (!METHODS.has(method)) continue;
            out.push({ method: method as RouteEntry['method'], path: join(prefix, p), doc: routeDocOf(layer.route.stack[0]?.handle) });
          }
        }
      } else if (layer.handle?.stack) {
        const raw = typeof layer.rawPath === 'string' ? layer.rawPath : '/';
        walk(layer.handle.stack, join(prefix, raw));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  // Mounted twice (the webhook's /webhook alias), a route is one entry per path.
  const seen = new Set<string>();
  return out.filter((r) => {
    const k = `${r.method} ${r.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
