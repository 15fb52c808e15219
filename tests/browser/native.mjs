// The native `fixer` for the browser tests: what the page shows is checked against what the
// same analyzer says natively (`fixer diagnose --json`), and the page's fix command must be
// accepted by `fixer verify` after `fixer trust add` of the page's key.
//
// The plan the page signs targets the computer named in the analysed logs, and the native
// fixer's Linux host answers with this machine's host name; so verify runs against the
// fixer's simulated machine (`--simulate MACHINE.json`, the seam its own integration tests
// use), named like the logs' computer, with the real clock. Trust store and journal live in
// that file, so a test never touches a real state directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ROOT } from './harness.mjs';

const built = new Map();

/**
 * A binary of this workspace: `env` names the variable `cargo xtask test` sets to its
 * path; else it is built here with cargo (`cargoArgs` after `cargo build`; a no-op when up
 * to date) and found by its target `name` and `kind` (`bin`, `example`).
 */
function workspaceBinary(env, cargoArgs, name, kind) {
  if (process.env[env]) return process.env[env];
  if (built.has(name)) return built.get(name);
  const out = execFileSync(
    'cargo',
    ['build', ...cargoArgs, '--message-format=json-render-diagnostics'],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 },
  );
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (
      msg.reason === 'compiler-artifact' &&
      msg.target?.name === name &&
      msg.target?.kind?.includes(kind) &&
      msg.executable
    ) {
      built.set(name, msg.executable);
    }
  }
  const path = built.get(name);
  if (!path || !existsSync(path)) throw new Error(`cargo build ${cargoArgs.join(' ')} produced no binary`);
  return path;
}

/**
 * The native fixer binary: `RDPFIX_FIXER` (set by `cargo xtask test`), else built here with
 * cargo (a no-op when it is up to date).
 */
export function fixerBinary() {
  return workspaceBinary('RDPFIX_FIXER', ['-p', 'fixer', '--bin', 'fixer'], 'fixer', 'bin');
}

/**
 * Every PowerShell text the analyzer generates, as `[{ name, form, text }]`: the output of
 * `analyzer/examples/generated_scripts.rs` (`RDPFIX_SCRIPTS`, set by `cargo xtask test`,
 * else built here).
 */
export function generatedScripts() {
  const bin = workspaceBinary(
    'RDPFIX_SCRIPTS',
    ['-p', 'analyzer', '--example', 'generated_scripts'],
    'generated_scripts',
    'example',
  );
  return JSON.parse(execFileSync(bin, { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** Runs the fixer; returns its exit code and output (never throws on a non-zero exit). */
export function runFixer(args, { input } = {}) {
  const r = spawnSync(fixerBinary(), args, {
    encoding: 'utf8',
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `fixer diagnose --json <files>`: the native diagnosis of the same inputs. */
export function diagnoseNative(files) {
  const r = runFixer(['diagnose', '--json', ...files]);
  if (r.code !== 0) {
    throw new Error(`fixer diagnose exited ${r.code}: ${r.stderr}${r.stdout}`);
  }
  return JSON.parse(r.stdout);
}

/**
 * Splits a one-line command as the page writes it (`fixer.exe trust add KEY --label "x y"`)
 * into its words: plain words and double-quoted strings, as cmd.exe and PowerShell read them
 * for these simple commands.
 */
export function commandWords(line) {
  const words = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.trim().matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/**
 * The arguments a page command gives `fixer.exe`: everything after the program word
 * (`fixer.exe`, `.\fixer.exe` or `& .\fixer.exe`).
 */
export function fixerArgs(line) {
  const words = commandWords(line);
  const at = words.findIndex((w) => /(^|[\\/])fixer(\.exe)?$/i.test(w));
  if (at < 0) throw new Error(`not a fixer command: ${line}`);
  return words.slice(at + 1);
}

/** A simulated Windows machine for the native fixer, kept in a JSON file. */
export class SimMachine {
  /** `computer`: the name the plan must target (NetBIOS or DNS name). */
  constructor(computer, now = new Date()) {
    this.dir = mkdtempSync(join(tmpdir(), 'rdpfix-e2e-'));
    this.file = join(this.dir, 'machine.json');
    const netbios = computer.split('.')[0].toUpperCase();
    const machine = {
      names: { netbios, dns_fqdn: computer.toLowerCase() },
      now: now.toISOString(),
      registry: {},
      services: {},
      certs: [],
      security: {},
      state_files: {},
      state_dir_sddl: null,
      logs: {},
      exported: {},
      scheduled: {},
    };
    writeFileSync(this.file, JSON.stringify({ machine }));
  }

  run(args, options) {
    return runFixer(['--simulate', this.file, ...args], options);
  }
}

/** `fixer trust add` as the page wrote it; the fixer must print the page's fingerprint. */
export function enrol(machine, trustLine, fingerprint) {
  const args = fixerArgs(trustLine);
  assert.deepEqual(args.slice(0, 2), ['trust', 'add'], trustLine);
  const r = machine.run(args);
  assert.equal(r.code, 0, `${trustLine}\n${r.stdout}${r.stderr}`);
  const squash = (s) => s.replace(/[\s-]/g, '').toUpperCase();
  assert.ok(
    squash(r.stdout).includes(squash(fingerprint)),
    `the fixer's fingerprint differs from the page's ${fingerprint}:\n${r.stdout}`,
  );
}

/** The token the copied fix command hands `fixer.exe apply`. */
export function tokenOf(line) {
  const args = fixerArgs(line);
  assert.equal(args[0], 'apply', line);
  const token = args.find((a) => a.startsWith('rdpfix1.'));
  assert.ok(token, `no rdpfix1. token in ${line}`);
  return token;
}

/**
 * What a generated script (or the PowerShell of a Serial Console line) has fixer.exe run, in
 * order: the words of each `& $exe …`, with `$plan` read from `$plan = '…'`. The values
 * these scripts quote hold no quote of their own.
 */
export function fixerRuns(powershell) {
  const plan = powershell.match(/\$plan = '([^']*)'/)?.[1];
  const runs = [];
  for (const m of powershell.matchAll(/& \$exe((?: (?:'[^']*'|[^\s;'(){}]+))+)/g)) {
    const words = [...m[1].matchAll(/'([^']*)'|([^\s']+)/g)].map((w) => w[1] ?? w[2]);
    runs.push(words.map((w) => (w === '$plan' ? plan : w)));
  }
  return runs;
}

/** `fixer --json verify` of a token or plan file on `machine`: exit code and the report. */
export function verify(machine, token) {
  const r = machine.run(['--json', 'verify', token]);
  return { code: r.code, json: JSON.parse(r.stdout), raw: r };
}
