import { ImportFormatError, jsonRecords, MAX_IMPORT_ROWS, parseCsv, prepareImport } from '../../src/contacts/import';

const CSV = [
  'First Name,last_name,email,company,job_title,phone,tags,opt_in,city',
  'Ana,Diaz,ana@example.com,Acme,CEO,+91 98765 43210,vip;lead|vip,yes,Pune',
  'Bob,,not-an-email,,,+919876543211,,no,',
  ',,,,,,,,',
  'Cy,,,,,+91 98765,,,',
  'Dee,,,,,919876543210,,,',
  'Eve,,,,,+919876543212,,maybe,',
  'Fay,,,,,0091 98765 43213,,0,Goa',
].join('\n');

test('CSV rows become contacts; known columns are fields, the others attributes', () => {
  const { contacts } = prepareImport(parseCsv(CSV));
  expect(contacts).toEqual([
    {
      row: 1,
      phone: '+91 98765 43210',
      e164: '+919876543210',
      waId: '919876543210',
      fields: { first_name: 'Ana', last_name: 'Diaz', email: 'ana@example.com', company: 'Acme', job_title: 'CEO' },
      tags: ['vip', 'lead'],
      attributes: { city: 'Pune' },
      optIn: true,
    },
    {
      row: 7,
      phone: '0091 98765 43213',
      e164: '+919876543213',
      waId: '919876543213',
      fields: { first_name: 'Fay' },
      tags: [],
      attributes: { city: 'Goa' },
      optIn: false,
    },
  ]);
});

test('each bad row is reported with its row number, the phone as given and why; blank rows are skipped', () => {
  const { errors } = prepareImport(parseCsv(CSV));
  expect(errors).toEqual([
    { row: 2, phone: '+919876543211', reason: expect.stringMatching(/^email: /) },
    { row: 4, phone: '+91 98765', reason: expect.stringMatching(/too short/) },
    { row: 5, phone: '919876543210', reason: 'Phone number +919876543210 is already on row 1 of this import' },
    { row: 6, phone: '+919876543212', reason: expect.stringMatching(/opt_in must be/) },
  ]);
});

test('a row without a phone is refused; quoted cells may hold commas and line breaks', () => {
  const csv = 'phone,first_name,notes\n,Nobody,\n+447911123456,"Smith, Jo","line one\nline two"\n';
  const { contacts, errors } = prepareImport(parseCsv(csv));
  expect(errors).toEqual([{ row: 1, phone: null, reason: 'Phone number is required' }]);
  expect(contacts[0]).toMatchObject({ row: 2, e164: '+447911123456', fields: { first_name: 'Smith, Jo', notes: 'line one\nline two' } });
});

test('a CSV that cannot be read at all is one format error', () => {
  expect(() => parseCsv('phone,name\n"+447911123456,unterminated\n')).toThrow(ImportFormatError);
});

test('CSV parsing stops one row past the limit, enough to refuse the file', () => {
  const big = `phone\n${'+447911123456\n'.repeat(MAX_IMPORT_ROWS + 50)}`;
  expect(parseCsv(big)).toHaveLength(MAX_IMPORT_ROWS + 1);
});

test('JSON imports take {contacts} or a bare array, with tags as a list and attributes as an object', () => {
  const rows = [
    { phone: 919876543214, first_name: 'Gil', tags: ['a', ' b '], attributes: { plan: 'gold', seats: 3 }, source_list: 'expo', opt_in_status: true },
  ];
  expect(jsonRecords({ contacts: rows })).toBe(rows);
  expect(jsonRecords(rows)).toBe(rows);
  expect(() => jsonRecords({ people: rows })).toThrow(ImportFormatError);
  expect(prepareImport(rows).contacts[0]).toMatchObject({
    e164: '+919876543214',
    tags: ['a', 'b'],
    attributes: { plan: 'gold', seats: 3, source_list: 'expo' },
    optIn: true,
  });
});

test('JSON rows of the wrong shape are reported, not thrown', () => {
  const { contacts, errors } = prepareImport(['+919876543215', { phone: '+919876543216', attributes: [1] }, { phone: '+919876543217', company: { a: 1 } }]);
  expect(contacts).toEqual([]);
  expect(errors.map((e) => [e.row, e.reason])).toEqual([
    [1, 'A contact must be an object'],
    [2, 'attributes must be an object'],
    [3, expect.stringMatching(/^company: /)],
  ]);
});
