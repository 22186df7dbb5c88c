/** The MCTP folder's import graph: no cycles, and sockets never reach the stack. */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const root = join(repo, 'firmware/mctp');

/** file -> the files under firmware/mctp it imports or re-exports (type-only imports included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(root, f));
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = importedFiles
      .filter((i) => i.fileName.startsWith('.'))
      .map((i) => resolve(dirname(file), i.fileName.replace(/\.js$/, '.ts')))
      .filter((p) => p.startsWith(root) && existsSync(p));
    graph.set(file, deps);
  }
  return graph;
}

/** One import cycle, as a path of repo-relative files, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | undefined => {
    if (state.get(f) === 'done') return undefined;
    if (state.get(f) === 'open') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(f, 'done');
    return undefined;
  };
  for (const f of graph.keys()) {
    const c = visit(f);
    if (c) return c.map((p) => relative(repo, p));
  }
  return undefined;
}

function reaches(graph: Map<string, string[]>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length) {
    const f = todo.pop()!;
    if (f === to) return true;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...(graph.get(f) ?? []));
  }
  return false;
}

t.test('firmware/mctp has no import cycles', async (t) => {
  const graph = importGraph();
  t.ok(graph.size > 10, 'the folder was scanned');
  t.equal(findCycle(graph)?.join(' -> '), undefined);
});

t.test('socket.ts depends on the SocketHost contract, not on the stack', async (t) => {
  const graph = importGraph();
  t.ok(reaches(graph, join(root, 'stack.ts'), join(root, 'socket.ts')), 'the stack makes sockets');
  t.notOk(reaches(graph, join(root, 'socket.ts'), join(root, 'stack.ts')));
});
