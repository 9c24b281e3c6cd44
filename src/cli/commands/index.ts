// The command registry: one line per command file.
import type { Command } from 'commander';
import type { SetExitCode } from '../errors.js';

export type RegisterCommand = (program: Command, setExitCode: SetExitCode) => void;

export const COMMANDS: RegisterCommand[] = [];
