import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';
import { registry } from './registry';

/**
 * The worker's Prometheus endpoint: GET /metrics on its own port (WORKER_METRICS_PORT), since the
 * LLM and send series live in the worker process (see registry.ts). Port 0 picks a free port.
 * It listens on loopback unless told otherwise (WORKER_METRICS_HOST): the metrics are not public.
 */
export async function startMetricsServer(port: number, log: Logger, host = '127.0.0.1'): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'metrics could not be collected');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port: bound } = server.address() as AddressInfo;
  log.info({ host: address, port: bound }, 'worker metrics at GET /metrics');
  return server;
}
