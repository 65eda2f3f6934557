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
  /** The candidates' database: `sqlite` (default) or `postgres` (Synapse runs as `synapse-postgres`; Palpo runs on PostgreSQL only). */
  database: 'sqlite' | 'postgres';
  /** The joins measured, in order: partial then full by default. */
  modes: Array<'partial' | 'full'>;
  /** Bound on one join plus its milestones, seconds; default 300 + 0.06 per member. */
  boundSeconds?: number;
}

export const USAGE =
  'usage: npm run bench -- [--quick] [--candidate synapse,dendrite,palpo] [--sizes 1000,10000,50000,150000] [--runs 3] [--out DIR] [--synthesis 150000 (0: none)] [--profile] [--database sqlite|postgres] [--modes partial,full] [--bound SECONDS]';

const FULL = { sizes: [1_000, 10_000, 50_000, 150_000], runs: 3, synthesisMembers: 150_000 };
const QUICK = { sizes: [50, 200], runs: 1, synthesisMembers: 1_000 };

/** The candidates that run on PostgreSQL (the harness's PostgreSQL service). */
export const POSTGRES_CANDIDATES: readonly string[] = ['synapse', 'synapse-postgres', 'palpo'];

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
  const opts: BenchOptions = { quick, candidates: ['synapse'], sizes: defaults.sizes, runs: defaults.runs, outDir: 'bench-results', synthesisMembers: defaults.synthesisMembers, profile, database: 'sqlite', modes: ['partial', 'full'] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--quick' || flag === '--profile') continue;
    const value = argv[i + 1];
    if (!['--candidate', '--sizes', '--runs', '--out', '--synthesis', '--database', '--modes', '--bound'].includes(flag)) throw new Error(`unknown argument ${JSON.stringify(flag)}; ${USAGE}`);
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
    } else if (flag === '--modes') {
      const modes = value.split(',').map((s) => s.trim());
      const bad = modes.find((m) => m !== 'partial' && m !== 'full');
      if (bad !== undefined || modes.length === 0) throw new Error(`--modes takes partial, full or both separated by a comma, got ${JSON.stringify(value)}`);
      opts.modes = (['partial', 'full'] as const).filter((m) => modes.includes(m));
    } else if (flag === '--bound') {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`--bound takes a positive number of seconds, got ${JSON.stringify(value)}`);
      opts.boundSeconds = Number(value);
    } else {
      opts.outDir = value;
    }
  }
  if (opts.database === 'postgres') {
    // Synapse runs on PostgreSQL here as `synapse-postgres`; Palpo runs on nothing else.
    const others = opts.candidates.filter((c) => !POSTGRES_CANDIDATES.includes(c));
    if (others.length) throw new Error(`--database postgres: only Synapse and Palpo run on PostgreSQL here, not ${others.join(', ')}`);
    opts.candidates = [...new Set(opts.candidates.map((c) => (c === 'synapse' ? 'synapse-postgres' : c)))];
  } else if (opts.candidates.includes('palpo')) {
    throw new Error(`--candidate palpo needs --database postgres (Palpo runs on PostgreSQL only); ${USAGE}`);
  }
  return opts;
}
