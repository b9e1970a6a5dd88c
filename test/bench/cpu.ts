/**
 * CPU time of the local stack's processes, read from `/proc` (Linux) before and after a scenario,
 * and the machine's: how busy its CPUs were and its load average, since other work shares them.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { type ProcStat, parseMachineCpu, parseProcStat } from './measure';

/** Clock ticks a second, the unit of `/proc`'s CPU times. */
export const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function readStat(pid: number | 'self'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone, or not Linux
  }
}

/** This process and every process below it, by pid. */
export function processTree(root = process.pid): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return all;
  }
  for (const name of entries) {
    const stat = readStat(Number(name));
    if (stat) all.set(stat.pid, stat);
  }
  const tree = new Map<number, ProcStat>();
  const self = all.get(root);
  if (self) tree.set(root, self);
  for (let grew = true; grew; ) {
    grew = false;
    for (const stat of all.values())
      if (!tree.has(stat.pid) && tree.has(stat.ppid)) {
        tree.set(stat.pid, stat);
        grew = true;
      }
  }
  return tree;
}

export interface CpuSnapshot {
  at: number;
  processes: Map<number, ProcStat>;
  machine: { busy: number; total: number };
  load1: number;
}

export function snapshot(): CpuSnapshot {
  let machine = { busy: 0, total: 0 };
  try {
    machine = parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    // not Linux: no machine figures
  }
  return { at: Date.now(), processes: processTree(), machine, load1: loadavg()[0] ?? 0 };
}

/** CPU a labelled group of processes used between two snapshots. */
export interface CpuUse {
  label: string;
  pids: number[];
  ms: number;
}

export interface CpuWindow {
  seconds: number;
  /** By label, processes alive at the end (a process that ended in between is not counted). */
  groups: CpuUse[];
  /** All CPUs' busy time in the window, in cores (2 = both of 2 cores busy all along). */
  machineBusyCores: number;
  cores: number;
  load1: { start: number; end: number };
}

/** What each labelled group of processes used from `before` to `after`. */
export function cpuBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
  labelOf: (stat: ProcStat) => string,
): CpuWindow {
  const groups = new Map<string, CpuUse>();
  for (const [pid, end] of after.processes) {
    const start = before.processes.get(pid);
    const ticks = end.utime + end.stime - (start ? start.utime + start.stime : 0);
    const label = labelOf(end);
    const group = groups.get(label) ?? { label, pids: [], ms: 0 };
    group.pids.push(pid);
    group.ms += (ticks * 1000) / TICKS_PER_SECOND;
    groups.set(label, group);
  }
  const seconds = (after.at - before.at) / 1000;
  const ticks = after.machine.total - before.machine.total;
  return {
    seconds,
    groups: [...groups.values()],
    machineBusyCores:
      ticks > 0 ? ((after.machine.busy - before.machine.busy) / ticks) * cpus().length : Number.NaN,
    cores: cpus().length,
    load1: { start: before.load1, end: after.load1 },
  };
}
