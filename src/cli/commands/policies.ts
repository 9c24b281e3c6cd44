// `tlbtrace policies [NAME...]`: what each replayed flush policy does — its rule in the kernel's
// words, where it comes from, its parameters with defaults, its risk class with the reason, and
// whether its rule was checked against a kernel that really does it (tlbtrace validate).
// The text comes from the policy definitions themselves (src/policies/*.ts), so it cannot drift.

import type { Command } from 'commander';
import { POLICIES } from '../../policies/index.js';
import type { PolicyDefinition } from '../../policies/policy.js';
import { validationOf } from '../../policies/validation.js';
import { UsageError, type SetExitCode } from '../errors.js';

interface PoliciesFlags {
  json?: boolean;
}

export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('policies')
    .description('list the flush policies analyze replays: rule, source, parameters (with defaults), risk')
    .argument('[names...]', 'only these policies (default: all)')
    .option('--json', 'print the list as JSON')
    .addHelpText(
      'after',
      `
Parameters are set on analyze with --param <policy>.<key>=<value> (or <key>=<value> for every
policy that has it), e.g.:
  tlbtrace analyze trace.txt --param batched.batchPages=64 --param targeted.syncWindowUs=500`,
    )
    .action((names: string[], flags: PoliciesFlags) => {
      const list = selectByName(names);
      process.stdout.write(flags.json ? JSON.stringify(list.map(describe), null, 2) + '\n' : renderPolicies(list));
      setExitCode(0);
    });
}

function selectByName(names: string[]): PolicyDefinition[] {
  if (names.length === 0) return POLICIES;
  return names.map((n) => {
    const p = POLICIES.find((d) => d.name === n);
    if (p === undefined) throw new UsageError(`unknown policy '${n}'; known: ${POLICIES.map((d) => d.name).join(', ')}`);
    return p;
  });
}

/** The static description of a policy, as printed by --json. */
export function describe(p: PolicyDefinition) {
  return {
    name: p.name,
    title: p.title,
    rule: p.rule,
    source: p.source,
    risk: p.risk,
    riskReason: p.riskReason,
    params: p.params.map((s) => ({ key: s.key, default: s.default, description: s.description })),
    validation: validationOf(p.name),
  };
}

/** Plain text, wrapped to 100 columns, one block per policy. */
export function renderPolicies(list: readonly PolicyDefinition[]): string {
  const out: string[] = [];
  for (const p of list) {
    out.push(`${p.name}  —  ${p.title}`);
    out.push(...wrap(`rule: ${p.rule}`, '  '));
    out.push(...wrap(`source: ${p.source}`, '  '));
    out.push(...wrap(`risk: ${p.risk} — ${p.riskReason}`, '  '));
    out.push(...wrap(`vs real kernel: ${validationOf(p.name).text} (docs/validation.md)`, '  '));
    if (p.params.length === 0) out.push('  parameters: none');
    else {
      out.push('  parameters:');
      for (const s of p.params) out.push(...wrap(`${p.name}.${s.key} = ${String(s.default)} — ${s.description}`, '    '));
    }
    out.push('');
  }
  return out.join('\n');
}

function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/)) {
    if (line.length > indent.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + '  ' + word;
    } else line += (line.length > indent.length ? ' ' : '') + word;
  }
  if (line.trim().length > 0) lines.push(line);
  return lines;
}
