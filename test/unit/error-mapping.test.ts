import type { Request, Response } from 'express';
import { ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { errorMiddleware, HttpError } from '../../src/api/errors';

/** Runs the error middleware on one error and returns the status and body it answered with. */
function answer(err: unknown): { status: number; body: { error: { code: string; message: string; details: unknown } } } {
  let status = 0;
  let body: unknown;
  const res = {
    status(s: number) {
      status = s;
      return this;
    },
    json(b: unknown) {
      body = b;
      return this;
    },
  } as unknown as Response;
  errorMiddleware(err, { id: 'req_1' } as unknown as Request, res, () => undefined);
  return { status, body: body as never };
}

test('Temporal being unreachable is a 502 the caller may retry, not a 500', () => {
  const unavailable = new ServiceError('Failed to describe schedule', {
    cause: Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }),
  });
  expect(answer(unavailable)).toMatchObject({ status: 502, body: { error: { code: 'EXTERNAL_SERVICE_ERROR' } } });
  const slow = new ServiceError('Deadline exceeded', { cause: Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 }) });
  expect(answer(slow).status).toBe(502);
});

test('known errors keep their meaning and unknown ones are a 500 without internals', () => {
  expect(answer(new HttpError('CONFLICT', 'taken', { id: 1 }))).toMatchObject({
    status: 409,
    body: { error: { code: 'CONFLICT', message: 'taken', details: { id: 1 } } },
  });
  expect(answer(new WorkflowNotFoundError('gone', 'chat-1', undefined)).status).toBe(404);
  const zod = z.object({ phone: z.string() }).safeParse({});
  expect(answer(zod.error)).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR', details: [{ field: 'phone' }] } } });
  expect(answer({ type: 'entity.too.large' })).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
  expect(answer(new Error('secret stack detail'))).toMatchObject({
    status: 500,
    body: { error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } },
  });
});
