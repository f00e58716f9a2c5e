import type { Request, RequestHandler, Response } from 'express';

/**
 * Runs an Express middleware from inside a `route(doc, handler)` handler: resolves when it calls
 * next(), rejects with the error it passes to next(err) (or throws). For the few routes that read
 * their own body (the webhooks' raw bytes, the contact import's 5 MB) or run limiters after the
 * input is parsed (login): route() stays the route's first handler, so the role check and the
 * input checks come first and the route table still finds the doc there.
 *
 * Only for middleware that always calls next (body parsers, limiters whose handler calls next).
 */
export function runMiddleware(middleware: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      const result: unknown = middleware(req, res, (err?: unknown) => (err && err !== 'route' && err !== 'router' ? reject(err) : resolve()));
      if (result instanceof Promise) result.catch(reject);
    } catch (err) {
      reject(err);
    }
  });
}
