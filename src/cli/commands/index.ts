// The command registry: one line per command file.
import type { Command } from 'commander';
import type { SetExitCode } from '../errors.js';

export type RegisterCommand = (program: Command, setExitCode: SetExitCode) => void;

import { register as analyze } from './analyze.js';
import { register as check } from './check.js';
import { register as report } from './report.js';
import { register as compare } from './compare.js';
import { register as policies } from './policies.js';
import { register as exportCmd } from './export.js';
import { register as fleet } from './fleet.js';
import { register as record } from './record.js';
import { register as validate } from './validate.js';

export const COMMANDS: RegisterCommand[] = [analyze, record, check, report, compare, policies, exportCmd, fleet, validate];
