/** The benchmark's command line: see USAGE. */
import { knownCandidates } from '../harness/candidates/index.ts';

export interface BenchOptions {
  quick: boolean;
  candidates: string[];
  sizes: number[];
  runs: number;
  outDir: string;
  /** Members of the room synthesised for the suite figures; 0 leaves the suite figures out. */
  synthesisMembers: number;
  /** Profile each candidate during each join (bench/profile.ts). */
  profile: boolean;
  /** The candidates' database: `sqlite` (default) or `postgres` (Synapse only: runs `synapse-postgres`). */
  database: 'sqlite' | 'postgres';
}

export const USAGE = 'usage: npm run bench -- [--quick] [--candidate synapse,dendrite] [--sizes 1000,10000,50000,150000] [--runs 3] [--out DIR] [--synthesis 150000 (0: none)] [--profile] [--database sqlite|postgres]';

const FULL = { sizes: [1_000, 10_000, 50_000, 150_000], runs: 3, synthesisMembers: 150_000 };
const QUICK = { sizes: [50, 200], runs: 1, synthesisMembers: 1_000 };

function positiveIntegers(flag: string, text: string): number[] {
  const values = text.split(',').map((s) => s.trim());
  const numbers = values.map(Number);
  const bad = values.find((s, i) => !/^\d+$/.test(s) || numbers[i] < 1);
  if (bad !== undefined) throw new Error(`${flag} takes positive integers separated by commas, got ${JSON.stringify(text)}`);
  return numbers;
}

/** Parses the arguments; throws a one-line error naming the bad one. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const profile = argv.includes('--profile');
  const defaults = quick ? QUICK : FULL;
  const opts: BenchOptions = { quick, candidates: ['synapse'], sizes: defaults.sizes, runs: defaults.runs, outDir: 'bench-results', synthesisMembers: defaults.synthesisMembers, profile, database: 'sqlite' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--quick' || flag === '--profile') continue;
    const value = argv[i + 1];
    if (!['--candidate', '--sizes', '--runs', '--out', '--synthesis', '--database'].includes(flag)) throw new Error(`unknown argument ${JSON.stringify(flag)}; ${USAGE}`);
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value; ${USAGE}`);
    i++;
    if (flag === '--candidate') {
      opts.candidates = value.split(',').map((s) => s.trim());
      const unknown = opts.candidates.filter((c) => !knownCandidates.includes(c) || c === 'external');
      if (unknown.length) throw new Error(`--candidate: cannot benchmark ${unknown.join(', ')} (process candidates: ${knownCandidates.filter((c) => c !== 'external').join(', ')})`);
    } else if (flag === '--sizes') {
      opts.sizes = [...new Set(positiveIntegers(flag, value))].sort((a, b) => a - b);
    } else if (flag === '--runs') {
      [opts.runs] = positiveIntegers(flag, value);
      if (value.includes(',')) throw new Error(`--runs takes one positive integer, got ${JSON.stringify(value)}`);
    } else if (flag === '--synthesis') {
      if (!/^\d+$/.test(value)) throw new Error(`--synthesis takes a member count (0 for none), got ${JSON.stringify(value)}`);
      opts.synthesisMembers = Number(value);
    } else if (flag === '--database') {
      if (value !== 'sqlite' && value !== 'postgres') throw new Error(`--database takes sqlite or postgres, got ${JSON.stringify(value)}`);
      opts.database = value;
    } else {
      opts.outDir = value;
    }
  }
  if (opts.database === 'postgres') {
    // Synapse is the candidate that runs on PostgreSQL here, as `synapse-postgres`.
    const others = opts.candidates.filter((c) => c !== 'synapse' && c !== 'synapse-postgres');
    if (others.length) throw new Error(`--database postgres: only Synapse runs on PostgreSQL here, not ${others.join(', ')}`);
    opts.candidates = [...new Set(opts.candidates.map(() => 'synapse-postgres'))];
  }
  return opts;
}
