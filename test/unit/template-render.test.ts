import { renderTemplate, TemplateRenderError, templateParameters, templateVariables } from '../../src/templates/render';

function renderError(fn: () => unknown): TemplateRenderError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TemplateRenderError) return err;
    throw err;
  }
  throw new Error('expected a TemplateRenderError');
}

test('finds named and positional variables once each, in order of first appearance, spaces allowed', () => {
  expect(templateVariables('Hi {{first_name}}, order {{ 1 }} ships {{2}}. Bye {{first_name}}!')).toEqual(['first_name', '1', '2']);
  expect(templateVariables('{{  city  }} and {{_x9}}')).toEqual(['city', '_x9']);
  expect(templateVariables('no variables here')).toEqual([]);
});

test('text that is not a valid placeholder is left alone', () => {
  const body = 'Costs {{ }} or {{first-name}} or {{9lives}} or {single}';
  expect(templateVariables(body)).toEqual([]);
  expect(renderTemplate(body, {})).toBe(body);
});

test('renders every occurrence, with numbers and booleans as text', () => {
  const text = renderTemplate('Hi {{ name }}! {{name}}, your code is {{1}} (vip: {{vip}})', { name: 'Ana', 1: 4821, vip: true });
  expect(text).toBe('Hi Ana! Ana, your code is 4821 (vip: true)');
});

test('values are inserted literally, even with $ patterns or braces', () => {
  expect(renderTemplate('Pay {{amount}}', { amount: '$& $1 {{amount}}' })).toBe('Pay $& $1 {{amount}}');
});

test('lists every missing variable at once; absent, null, empty and blank all count as missing', () => {
  const err = renderError(() => renderTemplate('{{a}} {{b}} {{c}} {{d}} {{e}} {{a}}', { b: null, c: '', d: '   ', e: 'ok' }));
  expect(err.missing).toEqual(['a', 'b', 'c', 'd']);
  expect(err.message).toContain('a, b, c, d');
  // Inherited properties are not variables.
  expect(renderError(() => renderTemplate('{{constructor}}', {})).missing).toEqual(['constructor']);
  expect(renderTemplate('zero is a value: {{n}}', { n: 0 })).toBe('zero is a value: 0');
});

test('parameters: named ones in order of first appearance, positional ones by number (as Meta reads them)', () => {
  expect(templateParameters('{{ name }} {{city}} {{name}}', { name: 'Ana', city: 'Pune', extra: 'unused' })).toEqual([
    { name: 'name', value: 'Ana' },
    { name: 'city', value: 'Pune' },
  ]);
  expect(templateParameters('Order {{2}} for {{1}}, again {{2}}', { 1: 'Ana', 2: 'A-17' })).toEqual([
    { name: '1', value: 'Ana' },
    { name: '2', value: 'A-17' },
  ]);
  expect(renderError(() => templateParameters('{{1}} {{2}}', { 1: 'x' })).missing).toEqual(['2']);
});
