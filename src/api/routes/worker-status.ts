import { Router } from 'express';
import { z } from 'zod';
import { temporal as proto } from '@temporalio/proto';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { READ, route } from '../route-doc';

const TaskQueueType = proto.api.enums.v1.TaskQueueType;
type Seconds = { seconds?: unknown; nanos?: number | null } | null | undefined;

const QueueView = z.object({
  pollers: z.array(
    z.object({
      identity: z.string().describe('the worker, by default <pid>@<host>'),
      last_access_time: z.string().nullable(),
      rate_per_second: z.number().describe('the rate limit the worker asked for; 0: none'),
    }),
  ),
  backlog: z
    .object({
      approximate_count: z.number().int(),
      approximate_age_seconds: z.number().describe('age of the oldest task waiting'),
      tasks_add_rate: z.number().describe('tasks added per second, recent average'),
      tasks_dispatch_rate: z.number().describe('tasks handed to workers per second, recent average'),
    })
    .nullable(),
});

export const WorkerStatusView = z.object({
  status: z.enum(['active', 'partial', 'no_workers']).describe('active: workers poll both workflow and activity tasks'),
  namespace: z.string(),
  task_queue: z.string(),
  queues: z.object({ workflow: QueueView, activity: QueueView }),
  timestamp: z.string(),
});

/** Seed 002's worker status, answered by Temporal: who polls our task queue and what waits there. */
export function workerStatusRouter(deps: AppDeps): Router {
  const router = Router();
  const { temporal } = deps;
  const timeoutMs = deps.temporalTimeoutMs ?? 5000;

  const describe = (taskQueueType: proto.api.enums.v1.TaskQueueType) =>
    temporal.withDeadline(Date.now() + timeoutMs, () =>
      temporal.workflowService.describeTaskQueue({
        namespace: temporal.options.namespace,
        taskQueue: { name: deps.taskQueue },
        taskQueueType,
        reportStats: true,
      }),
    );

  router.get(
    '/workers/status',
    route(
      {
        summary: 'Worker status: pollers and backlog of the task queue',
        description:
          "Seed 002's GET /workers/whatsapp, answered by Temporal (DescribeTaskQueue with stats): the workers polling " +
          'the workflow and activity task queues, and the approximate backlog of each. Seed 002 could also pause, ' +
          'resume or restart its workers (POST); Temporal workers are separate processes the API cannot start or ' +
          'stop, so that is not offered: scale or stop `npm run worker` processes with your process manager.',
        tag: 'system',
        access: READ,
        responses: { 200: { description: 'Pollers and backlog', schema: WorkerStatusView } },
        errors: ['EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req }) => {
        let workflow, activity;
        try {
          [workflow, activity] = await Promise.all([describe(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), describe(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)]);
        } catch (err) {
          req.log.warn({ err }, 'could not describe the task queue');
          throw new HttpError('EXTERNAL_SERVICE_ERROR', 'Temporal did not answer; retry later');
        }
        const queues = { workflow: queueView(workflow), activity: queueView(activity) };
        const polled = [queues.workflow, queues.activity].filter((q) => q.pollers.length > 0).length;
        const body: z.infer<typeof WorkerStatusView> = {
          status: polled === 2 ? 'active' : polled === 1 ? 'partial' : 'no_workers',
          namespace: temporal.options.namespace,
          task_queue: deps.taskQueue,
          queues,
          timestamp: new Date().toISOString(),
        };
        return body;
      },
    ),
  );

  return router;
}

function queueView(d: proto.api.workflowservice.v1.IDescribeTaskQueueResponse): z.infer<typeof QueueView> {
  const stats = d.stats;
  return {
    pollers: (d.pollers ?? []).map((p) => {
      const at = seconds(p.lastAccessTime);
      return {
        identity: p.identity ?? '',
        last_access_time: at === undefined ? null : new Date(at * 1000).toISOString(),
        rate_per_second: p.ratePerSecond ?? 0,
      };
    }),
    backlog: stats
      ? {
          approximate_count: Number(stats.approximateBacklogCount ?? 0),
          approximate_age_seconds: seconds(stats.approximateBacklogAge) ?? 0,
          tasks_add_rate: stats.tasksAddRate ?? 0,
          tasks_dispatch_rate: stats.tasksDispatchRate ?? 0,
        }
      : null,
  };
}

/** A protobuf Timestamp or Duration in seconds (its seconds field is a Long). */
function seconds(t: Seconds): number | undefined {
  if (!t) return undefined;
  return Number(t.seconds ?? 0) + (t.nanos ?? 0) / 1e9;
}
