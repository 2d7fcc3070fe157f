import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commentsAbove, loadTemplates, trailingComment, type BicepFile } from './bicep';

const infra = join(__dirname, '..', '..', 'infra');
const templates = loadTemplates(infra);
const all = [...templates.values()];
const guid = /'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/g;

/** Built-in role definition ids Greenlight may be granted, with their names as Azure lists them. */
const builtInRoles: Record<string, string> = {
  '358470bc-b998-42bd-ab17-a7e34c199c0f': 'Container Apps Contributor',
  '43d0d8ad-25c7-4714-9337-8ba259a9fe05': 'Monitoring Reader',
  '73c42c96-874c-492b-b04d-ab87d138a893': 'Log Analytics Reader',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};

/** Broad roles that would break least privilege wherever they were assigned. */
const forbiddenRoles: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
};

/** Where each role is granted: the module that assigns it and the scope it names. */
const expectedGrants: [role: string, module: string, scope: string][] = [
  ['Container Apps Contributor', 'modules/targetAccess.bicep', 'resource group'],
  ['Monitoring Reader', 'modules/readerAccess.bicep', 'resource group'],
  ['Log Analytics Reader', 'modules/readerAccess.bicep', 'resource group'],
  ['Storage Blob Data Owner', 'modules/storage.bicep', 'account'],
  ['Storage Queue Data Contributor', 'modules/storage.bicep', 'account'],
  ['Storage Table Data Contributor', 'modules/storage.bicep', 'account'],
  ['Storage Blob Data Contributor', 'modules/deadLetterAccess.bicep', 'container'],
  ['Key Vault Secrets User', 'modules/keyVault.bicep', 'vault'],
  ['Monitoring Metrics Publisher', 'modules/monitoring.bicep', 'appInsights'],
];

interface Grant {
  file: BicepFile;
  symbol: string;
  line: number;
  roleVar: string;
  roleId: string;
  scope: string;
}

function grants(): Grant[] {
  return all.flatMap((file) =>
    file.resources
      .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
      .map((r) => {
        const roleVar = /roleDefinitions', (\w+)\)/.exec(r.text)?.[1] ?? '';
        const roleVarText = file.vars.find((v) => v.name === roleVar)?.text ?? '';
        return {
          file,
          symbol: r.name,
          line: r.line,
          roleVar,
          roleId: /'([0-9a-f-]{36})'/.exec(roleVarText)?.[1] ?? '',
          scope: /^\s*scope: (\w+)/m.exec(r.text)?.[1] ?? 'resource group',
        };
      }),
  );
}

describe('role assignments', () => {
  it('name each role id with its built-in name in a comment next to it', () => {
    const found: string[] = [];
    for (const f of all) {
      f.text.split('\n').forEach((text, i) => {
        for (const m of text.matchAll(guid)) {
          const id = m[1]!;
          found.push(id);
          expect([f.path, i + 1, id, trailingComment(f, i + 1)]).toEqual([
            f.path,
            i + 1,
            id,
            builtInRoles[id],
          ]);
        }
      });
    }
    expect(found.filter((id) => forbiddenRoles[id])).toEqual([]);
    expect(found.length).toBeGreaterThanOrEqual(Object.keys(builtInRoles).length);
  });

  it('each say why they are needed, use a documented role, and grant it to a service principal', () => {
    const list = grants();
    expect(list.length).toBe(expectedGrants.length);
    for (const g of list) {
      // The why sits above the role id's var (or the assignment itself).
      const roleVarLine = g.file.vars.find((v) => v.name === g.roleVar)?.line ?? g.line;
      const why = commentsAbove(g.file, Math.min(roleVarLine, g.line));
      expect([g.file.path, g.symbol, why.some((c) => /^Why: \S.{20,}/.test(c))]).toEqual([
        g.file.path,
        g.symbol,
        true,
      ]);
      expect([g.file.path, g.symbol, builtInRoles[g.roleId] !== undefined]).toEqual([
        g.file.path,
        g.symbol,
        true,
      ]);
      const text = g.file.resources.find((r) => r.name === g.symbol)!.text;
      expect(text).toMatch(/principalType: 'ServicePrincipal'/);
      // The assignment name is derived from scope, principal and role, so redeploying is idempotent.
      const nameArgs = /^\s*name: guid\((.*)\)$/m.exec(text)?.[1]?.split(', ') ?? [];
      expect([g.symbol, nameArgs.slice(-2)]).toEqual([g.symbol, ['principalId', g.roleVar]]);
    }
  });

  it('grant each role only where the table says, never at subscription scope', () => {
    const actual = grants().map((g) => [
      builtInRoles[g.roleId],
      g.file.path.replace(/^infra\//, ''),
      g.scope,
    ]);
    expect(actual.sort()).toEqual([...expectedGrants].sort());
    for (const f of all) {
      if (f.targetScope === 'subscription') {
        expect(f.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')).toEqual([]);
      }
      expect(f.text).not.toMatch(/scope: subscription\(\)/);
    }
    // The resource-group-scoped modules are deployed once per named group, never to the subscription.
    const main = templates.get('main.bicep')!;
    for (const path of ['modules/targetAccess.bicep', 'modules/readerAccess.bicep']) {
      const m = main.modules.find((x) => x.path === path)!;
      expect(m.text).toMatch(/for group in \w+: \{[\s\S]*scope: resourceGroup\(group\)/);
    }
    expect(main.vars.find((v) => v.name === 'targetGroups')!.text).toMatch(
      /split\(targetResourceGroups, ','\)/,
    );
  });

  it('are listed in infra/README.md with the same ids and names', () => {
    const readme = readFileSync(join(infra, 'README.md'), 'utf8');
    for (const [id, name] of Object.entries(builtInRoles)) {
      const row = readme.split('\n').find((l) => l.includes(`\`${id}\``));
      expect([id, row?.startsWith(`| ${name} `)]).toEqual([id, true]);
    }
  });
});
