import {
  apiVersionProblems,
  commentsAbove,
  entries,
  moduleProblems,
  parseBicep,
  symbolProblems,
  trailingComment,
} from './bicep';

// The structural checks are only as good as the reader under them: these feed it templates with known
// faults and expect each fault reported.

const sound = `targetScope = 'subscription'

@description('Where it goes.')
param location string
@secure()
param key string = ''
param names string = 'a,b'

var list = filter(map(split(names, ','), n => trim(n)), n => !empty(n))
// Why: reads the thing.
var readerRole = 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-\${location}'
  location: location
  tags: { role: readerRole, 'key-\${key}': true }
}

module each 'each.bicep' = [
  for item in list: {
    name: 'each-\${item}'
    scope: rg
    params: {
      value: empty(key) ? item : '''
multi
line'''
    }
  }
]

output name string = rg.name
`;

describe('the Bicep reader', () => {
  it('reads declarations, decorators, comments and interpolated reads', () => {
    const f = parseBicep(sound, 'sound.bicep');
    expect(f.problems).toEqual([]);
    expect(f.targetScope).toBe('subscription');
    expect(f.params.map((p) => [p.name, p.type, p.hasDefault, p.secure])).toEqual([
      ['location', 'string', false, false],
      ['key', 'string', true, true],
      ['names', 'string', true, false],
    ]);
    expect(f.vars.map((v) => v.name)).toEqual(['list', 'readerRole']);
    expect(f.resources).toMatchObject([
      { name: 'rg', type: 'Microsoft.Resources/resourceGroups', apiVersion: '2024-03-01', existing: false },
    ]);
    expect(f.modules).toMatchObject([{ name: 'each', path: 'each.bicep', params: ['value'] }]);
    expect(f.outputs.map((o) => o.name)).toEqual(['name']);
    // `key` is read only inside interpolations: in a key string and in a ternary.
    expect(f.references.map((r) => r.name)).toEqual(
      expect.arrayContaining(['location', 'key', 'readerRole']),
    );
    expect([...f.locals].sort()).toEqual(['item', 'n']);
    expect(symbolProblems(f)).toEqual([]);
    const roleLine = f.vars[1]!.line;
    expect(trailingComment(f, roleLine)).toBe('Reader');
    expect(commentsAbove(f, roleLine)).toEqual(['Why: reads the thing.']);
    expect(entries(f, f.resources[0]!).map((e) => [e.key, e.value])).toEqual([
      ['name', "'rg-${location}'"],
      ['location', 'location'],
      ['tags', "{ role: readerRole, 'key-${key}': true }"],
      ['role', 'readerRole'],
      ['key-${…}', 'true'],
    ]);
  });

  it('reports unbalanced brackets and unterminated strings', () => {
    expect(parseBicep(`param a string\nvar b = {\n  c: a\n`).problems).toEqual([
      "line 2: '}' never closes what opens here",
    ]);
    expect(parseBicep(`var b = [\n  1\n]]\n`).problems).toEqual(["line 3: unexpected ']'"]);
    expect(parseBicep(`var b = 'open\n`).problems).toEqual(['line 1: unterminated string']);
  });

  it('reports a read of an undeclared name and a param or var nobody reads', () => {
    const f = parseBicep(
      `param used string\nparam unused string\nvar dead = 1\noutput o string = '\${used}-\${typo}'\n`,
    );
    expect(symbolProblems(f)).toEqual([
      "<inline>:4: 'typo' is not declared",
      "<inline>:2: param 'unused' is never used",
      "<inline>:3: var 'dead' is never used",
    ]);
  });

  it('does not take object keys, properties, functions or a ternary branch for reads', () => {
    const f = parseBicep(
      `param p object\nvar v = { name: p.name, other: az.resourceGroup().id, t: empty(p) ? {} : { k: p } }\noutput o object = v\n`,
    );
    expect(symbolProblems(f)).toEqual([]);
    expect(f.references.map((r) => r.name).sort()).toEqual(['p', 'p', 'p', 'v']);
  });

  it('reports a missing module file, an undeclared module param and a missing required one', () => {
    const caller = parseBicep(
      `module a 'a.bicep' = {\n  name: 'a'\n  params: {\n    known: 1\n    extra: 2\n  }\n}\nmodule b 'nowhere.bicep' = {\n  name: 'b'\n}\n`,
      'caller.bicep',
    );
    const target = parseBicep(
      `param known int\nparam needed string\nparam optional string = ''\n`,
      'a.bicep',
    );
    const load = (path: string) => (path === 'a.bicep' ? target : undefined);
    expect(moduleProblems(caller, load)).toEqual([
      "caller.bicep:1: module a passes 'extra', which a.bicep does not declare",
      "caller.bicep:1: module a does not pass required 'needed' of a.bicep",
      "caller.bicep:8: module b: no file at 'nowhere.bicep'",
    ]);
  });

  it('reports a resource type or API version outside the allowed list', () => {
    const f = parseBicep(
      `resource a 'Microsoft.Web/sites@2020-01-01' = {\n  name: 'a'\n}\nresource b 'Microsoft.Foo/bars@2024-01-01' = {\n  name: 'b'\n}\nresource c 'Microsoft.Web/sites' = {\n  name: 'c'\n}\n`,
      'api.bicep',
    );
    expect(f.problems).toEqual(["line 7: resource c has no '@apiVersion'"]);
    expect(apiVersionProblems(f, { 'Microsoft.Web/sites': '2024-11-01' })).toEqual([
      'api.bicep:1: Microsoft.Web/sites@2020-01-01; the allowed version is 2024-11-01',
      'api.bicep:4: Microsoft.Foo/bars is not in the allowed list',
      'api.bicep:7: Microsoft.Web/sites@; the allowed version is 2024-11-01',
    ]);
  });
});
