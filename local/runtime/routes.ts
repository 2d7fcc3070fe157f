/**
 * Functions route templates (`rollouts/{id}/{action}`, `{name?}`, `{id:int}`, `{*rest}`) compiled to
 * matchers. Constraints other than a few common ones are accepted but not enforced.
 */
export interface CompiledRoute {
  template: string;
  /** Literal segments count more than parameters when two templates match. */
  precedence: number;
  match(path: string): Record<string, string> | undefined;
}

const constraints: Record<string, string> = {
  int: '-?\\d+',
  long: '-?\\d+',
  bool: '(?:true|false)',
  guid: '[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}',
  alpha: '[A-Za-z]+',
};

export function compileRoute(template: string): CompiledRoute {
  const segments = template
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter(Boolean);
  const names: string[] = [];
  let pattern = '^';
  let precedence = 0;
  for (const seg of segments) {
    const m = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?\}$/.exec(seg);
    if (!m) {
      pattern += `/${seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      precedence += 10;
      continue;
    }
    const [, catchAll, name, constraint, optional] = m;
    names.push(name ?? '');
    if (catchAll) {
      pattern += '(?:/(.*))?';
      continue;
    }
    const body =
      constraint && constraints[constraint.toLowerCase()] ? constraints[constraint.toLowerCase()] : '[^/]+';
    pattern += optional ? `(?:/(${body}))?` : `/(${body})`;
    precedence += 1;
  }
  pattern += '/?$';
  const re = new RegExp(pattern, 'i');
  return {
    template,
    precedence,
    match(path: string) {
      const m = re.exec(`/${path.replace(/^\/+/, '')}`);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((n, i) => {
        const v = m[i + 1];
        if (v !== undefined) params[n] = decodeURIComponent(v);
      });
      return params;
    },
  };
}
