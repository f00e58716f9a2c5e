import { Router } from 'express';
import { hashPassword, verifyPassword } from '../../auth/passwords';
import { isUniqueViolation } from '../../db/pg-errors';
import { LastAdminError, createUser, deleteUser, getUser, listUsers, updateUser } from '../../db/users';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { requireId } from '../ids';
import { OFFSET_FOR_SKIP } from '../paging';
import { route } from '../route-doc';
import { CreateUserBody, UpdateMeBody, UpdateUserBody, UserList, UserListQuery, UserView, userView } from './user-schemas';
import { z } from 'zod';

const IdParams = z.object({ id: z.string().describe('user id') });
const emailTaken = (email: string) => new HttpError('CONFLICT', `A user with email ${email} already exists`);

/** Seed 004's users: everyone sees and edits themselves; admins manage everyone. */
export function usersRouter(deps: AppDeps): Router {
  const router = Router();
  const admin = ['admin'] as const;

  const me = (userId: number | undefined) => {
    if (userId === undefined) throw new HttpError('VALIDATION_ERROR', 'API keys are not users; sign in with /api/v1/auth/login to have a profile');
    return userId;
  };

  router.get(
    '/me',
    route({ summary: 'The signed-in user', access: 'authenticated', responses: { 200: { description: 'The user', schema: UserView } } }, async ({ req }) => {
      const user = await getUser(deps.db, me(req.principal?.userId));
      if (!user) throw new HttpError('NOT_FOUND', 'User not found');
      return userView(user);
    }),
  );

  router.put(
    '/me',
    route(
      {
        summary: 'Change your name or password',
        description: 'A new password needs the current one; it signs out every other session (their refresh tokens stop working).',
        access: 'authenticated',
        body: UpdateMeBody,
        responses: { 200: { description: 'The updated user', schema: UserView } },
      },
      async ({ body: b, req }) => {
        const id = me(req.principal?.userId);
        const user = await getUser(deps.db, id);
        if (!user) throw new HttpError('NOT_FOUND', 'User not found');
        if (b.password !== undefined && !(await verifyPassword(b.current_password ?? '', user.password_hash))) {
          throw new HttpError('VALIDATION_ERROR', 'current_password is wrong', [{ field: 'current_password', reason: 'does not match' }]);
        }
        const updated = await updateUser(deps.db, id, {
          ...(b.full_name !== undefined ? { full_name: b.full_name } : {}),
          ...(b.password !== undefined ? { password_hash: await hashPassword(b.password) } : {}),
        });
        return userView(updated!);
      },
    ),
  );

  router.get(
    '/',
    route(
      {
        summary: 'List users',
        access: admin,
        query: UserListQuery,
        queryAliases: OFFSET_FOR_SKIP,
        responses: { 200: { description: 'A page of users', schema: UserList } },
      },
      async ({ query: q }) => {
        const { rows, total } = await listUsers(deps.db, { role: q.role, active: q.is_active, search: q.search || undefined, skip: q.skip, limit: q.limit });
        return { users: rows.map(userView), total, skip: q.skip, limit: q.limit };
      },
    ),
  );

  router.post(
    '/',
    route(
      { summary: 'Create a user', access: admin, body: CreateUserBody, responses: { 201: { description: 'Created', schema: UserView } }, errors: ['CONFLICT'] },
      async ({ body: b, res }) => {
        try {
          const user = await createUser(deps.db, {
            email: b.email,
            full_name: b.full_name ?? null,
            role: b.role,
            is_active: b.is_active,
            password_hash: await hashPassword(b.password),
          });
          res.status(201).json(userView(user));
        } catch (err) {
          if (isUniqueViolation(err)) throw emailTaken(b.email);
          throw err;
        }
      },
    ),
  );

  router.get(
    '/:id',
    route(
      { summary: 'Get a user', access: admin, params: IdParams, responses: { 200: { description: 'The user', schema: UserView } }, errors: ['NOT_FOUND'] },
      async ({ params }) => {
        const user = await getUser(deps.db, requireId(params.id, 'User'));
        if (!user) throw new HttpError('NOT_FOUND', `User ${params.id} not found`);
        return userView(user);
      },
    ),
  );

  router.put(
    '/:id',
    route(
      {
        summary: 'Change a user: email, name, role, active, password',
        description:
          'Deactivating a user or setting a new password revokes their refresh tokens at once. The last active admin cannot be demoted or deactivated (409).',
        access: admin,
        params: IdParams,
        body: UpdateUserBody,
        responses: { 200: { description: 'The updated user', schema: UserView } },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body: b, res }) => {
        const id = requireId(params.id, 'User');
        const { password, ...rest } = b;
        try {
          const user = await updateUser(deps.db, id, { ...rest, ...(password ? { password_hash: await hashPassword(password) } : {}) });
          if (!user) throw new HttpError('NOT_FOUND', `User ${id} not found`);
          res.json(userView(user));
        } catch (err) {
          if (err instanceof LastAdminError) throw new HttpError('CONFLICT', err.message);
          if (isUniqueViolation(err)) throw emailTaken(b.email ?? '');
          throw err;
        }
      },
    ),
  );

  router.delete(
    '/:id',
    route(
      {
        summary: 'Delete a user',
        description: 'Records they made keep their email as the actor. The last active admin cannot be deleted (409).',
        access: admin,
        params: IdParams,
        responses: { 204: 'Deleted' },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, res }) => {
        const id = requireId(params.id, 'User');
        try {
          if (!(await deleteUser(deps.db, id))) throw new HttpError('NOT_FOUND', `User ${id} not found`);
        } catch (err) {
          if (err instanceof LastAdminError) throw new HttpError('CONFLICT', err.message);
          throw err;
        }
        res.status(204).end();
      },
    ),
  );

  return router;
}
