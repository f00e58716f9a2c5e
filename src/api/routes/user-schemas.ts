import { z } from 'zod';
import { roles } from '../../config';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH } from '../../auth/passwords';
import type { User } from '../../db/schema';

export const RoleSchema = z.enum(roles as [(typeof roles)[number], ...(typeof roles)[number][]]);

export const EmailField = z.string().trim().toLowerCase().pipe(z.email('must be an email address').max(254));

export const PasswordField = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .refine((p) => Buffer.byteLength(p, 'utf8') <= PASSWORD_MAX_BYTES, `may be at most ${PASSWORD_MAX_BYTES} bytes`);

const FullName = z.string().trim().min(1).max(200).nullish();

export const LoginBody = z.object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(1024) });
export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(200) });

export const CreateUserBody = z.object({
  email: EmailField,
  password: PasswordField,
  full_name: FullName,
  role: RoleSchema,
  is_active: z.boolean().default(true),
});

export const UpdateUserBody = z
  .object({
    email: EmailField.optional(),
    password: PasswordField.optional(),
    full_name: FullName,
    role: RoleSchema.optional(),
    is_active: z.boolean().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'Nothing to change');

export const UpdateMeBody = z
  .object({ full_name: FullName, password: PasswordField.optional(), current_password: z.string().max(1024).optional() })
  .refine((b) => b.full_name !== undefined || b.password !== undefined, 'Nothing to change')
  .refine((b) => b.password === undefined || Boolean(b.current_password), {
    message: 'current_password is required to set a new password',
    path: ['current_password'],
  });

export const UserListQuery = z.object({
  role: RoleSchema.optional(),
  is_active: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  search: z.string().trim().max(100).optional(),
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const UserView = z.object({
  id: z.number().int(),
  email: z.string(),
  full_name: z.string().nullable(),
  role: RoleSchema,
  is_active: z.boolean(),
  last_login_at: z.date().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
});

export const UserList = z.object({ users: z.array(UserView), total: z.number().int(), skip: z.number().int(), limit: z.number().int() });

export const TokenPair = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('seconds until the access token expires'),
  refresh_token: z.string().describe('works once: each refresh returns a new one'),
  refresh_expires_in: z.number().int(),
  user: UserView,
});

/** Never the password hash. */
export function userView(u: User): z.infer<typeof UserView> {
  return {
    id: u.id,
    email: u.email,
    full_name: u.full_name,
    role: u.role,
    is_active: u.is_active,
    last_login_at: u.last_login_at,
    created_at: u.created_at,
    updated_at: u.updated_at,
  };
}
