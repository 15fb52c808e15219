// Checking generated PowerShell without PowerShell: web-tree-sitter with the
// tree-sitter-powershell grammar (npm devDependencies; TOOLCHAIN.md in the project's shared
// notes). A script passes when its syntax tree has no ERROR node and no missing node, but
// for the grammar's two known false positives, each allowed by name:
// - a command's argument list such as `Format-List Name,Id` (PowerShell reads it as one
//   array argument; the grammar reports a missing node);
// - a parenthesis inside the quoted part of a native argument such as
//   `wevtutil qe System /q:"*[System[(EventID=1)]]"` (PowerShell reads `/q:"…"` as one
//   generic token, the language specification's generic-token-parts, and a parenthesis
//   in a double-quoted string is text; the grammar reports an ERROR). Those parentheses
//   are read as the text they are before parsing, nothing else is changed.
// And the shells around it: what bash and cmd.exe hand PowerShell.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { Language, Parser } from 'web-tree-sitter';

const require = createRequire(import.meta.url);
let parser;

async function powershellParser() {
  if (parser) return parser;
  await Parser.init();
  const wasm = readFileSync(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
  const language = await Language.load(wasm);
  parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

/** The command a node sits in (`Format-List` for `Format-List Name,Id`), if any. */
function commandName(node) {
  for (let n = node; n; n = n.parent) {
    if (n.type === 'command') {
      const name = n.childForFieldName('command_name') ?? n.namedChildren.find((c) => c.type === 'command_name');
      return name?.text ?? null;
    }
  }
  return null;
}

/** The allowed false positive: a missing node inside a `Format-List` command's arguments. */
function knownFalsePositive(node) {
  return node.isMissing && /^Format-List$/i.test(commandName(node) ?? '');
}

/**
 * `script` with each parenthesis inside a native argument's quoted part (`/q:"…(…)…"`,
 * after a space, holding no `$`, backtick or line break) replaced by `_`: the same text to
 * PowerShell, and no longer the grammar's false positive. Lengths stay, so do positions.
 */
function parenthesesAsText(script) {
  return script.replace(/(?<=\s)\/[A-Za-z]+:"[^"$`\r\n]*"/g, (arg) => arg.replace(/[()]/g, '_'));
}

/**
 * Every syntax problem in `script`: ERROR and missing nodes, with line, column and the
 * text around them; the `Format-List` false positive left out.
 */
export async function powershellProblems(script) {
  const tree = (await powershellParser()).parse(parenthesesAsText(script));
  const problems = [];
  const visit = (node) => {
    if ((node.isError || node.isMissing) && !knownFalsePositive(node)) {
      const { row, column } = node.startPosition;
      const line = script.split('\n')[row] ?? '';
      problems.push({
        kind: node.isMissing ? `missing ${node.type}` : 'ERROR',
        line: row + 1,
        column: column + 1,
        near: line.slice(Math.max(0, column - 40), column + 40),
      });
    }
    if (node.hasError || node.isMissing) for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  tree.delete();
  return problems;
}

/** Fails with each problem's place when `script` does not parse as PowerShell. */
export async function assertParses(script, what) {
  const problems = await powershellProblems(script);
  assert.deepEqual(
    problems,
    [],
    `${what} does not parse as PowerShell:\n${problems
      .map((p) => `  line ${p.line}:${p.column} ${p.kind} near ${JSON.stringify(p.near)}`)
      .join('\n')}`,
  );
}

/**
 * The script an `az vm run-command invoke … --scripts '<script>'` line gives Run Command,
 * as bash itself reads the line: `az` is a shell function that prints its last argument.
 */
export function azScript(azLine) {
  assert.match(azLine, /^az vm run-command invoke /);
  const r = spawnSync('bash', ['-c', `az() { printf '%s' "\${@: -1}"; }\n${azLine}`], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * The PowerShell a Serial Console line hands `powershell -Command`: the one double-quoted
 * argument, which holds nothing cmd.exe reads (no `"`, no `%`), so cmd passes it as it is.
 */
export function serialCommand(line) {
  const m = line.match(/^powershell -NoProfile -ExecutionPolicy Bypass -Command "([^"%]*)"$/);
  assert.ok(m, `not a Serial Console line cmd.exe passes unchanged: ${line.slice(0, 120)}…`);
  return m[1];
}
