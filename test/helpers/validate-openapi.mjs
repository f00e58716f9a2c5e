// Validates an OpenAPI document read from stdin against the official 3.1 schema. A separate Node
// process because the validator ships as ES modules only, which Jest's CommonJS runtime cannot load.
import { Validator } from '@seriousme/openapi-schema-validator';
import process from 'node:process';

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(input));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? null }));
