/**
 * Where a candidate's time goes, from a sampling profile in collapsed-stack form (one line per
 * distinct stack: `outer;...;inner <samples>`, as written by `py-spy record --format raw` for
 * Synapse, or by any profiler that emits Brendan Gregg's folded format).
 *
 *   npx tsx bench/where-time-goes.ts <profile.txt> [top=25] [--match synapse/]
 *
 * Prints the frames with the most inclusive samples (a frame counts once per stack, however often
 * it recurses) and the most self samples (innermost frame), as shares of all samples. With
 * `--match`, only frames whose text contains the string are listed (e.g. the candidate's own code
 * rather than its event loop and libraries), though shares stay of all samples.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The frame of samples whose stack was empty. */
export const NO_FRAMES = '(no frames)';

export interface FrameShare {
  frame: string;
  samples: number;
  share: number;
}

export interface ProfileSummary {
  totalSamples: number;
  inclusive: FrameShare[];
  self: FrameShare[];
}

/** Summarises folded stacks; throws a one-line error on a line that is not `stack count`. */
/** A frame without its line number: `f (file.py:12)` becomes `f (file.py)`, so a function counts once. */
export function functionOf(frame: string): string {
  return frame.replace(/:\d+\)$/, ')');
}

export function summariseFolded(text: string, top: number, match: string | RegExp = '', opts: { byFunction?: boolean } = {}): ProfileSummary {
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  let total = 0;
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const cut = line.lastIndexOf(' ');
    const samples = Number(line.slice(cut + 1));
    if (cut < 0 || !Number.isInteger(samples) || samples < 0) throw new Error(`line ${i + 1} is not "stack count": ${line.slice(0, 120)}`);
    // py-spy writes an empty stack for samples taken outside any Python frame.
    const raw = cut === 0 ? [NO_FRAMES] : line.slice(0, cut).split(';');
    const frames = opts.byFunction ? raw.map(functionOf) : raw;
    total += samples;
    for (const frame of new Set(frames)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + samples);
    const innermost = frames[frames.length - 1];
    self.set(innermost, (self.get(innermost) ?? 0) + samples);
  });
  const ranked = (m: Map<string, number>) =>
    [...m]
      .filter(([frame]) => (typeof match === 'string' ? frame.includes(match) : match.test(frame)))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, samples]) => ({ frame, samples, share: total ? samples / total : 0 }));
  return { totalSamples: total, inclusive: ranked(inclusive), self: ranked(self) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const matchAt = args.indexOf('--match');
  const match = matchAt >= 0 ? (args.splice(matchAt, 2)[1] ?? '') : '';
  const [file, topText = '25'] = args;
  const top = Number(topText);
  if (!file || !Number.isInteger(top) || top < 1) {
    console.error('usage: npx tsx bench/where-time-goes.ts <folded-profile.txt> [top=25] [--match TEXT]');
    process.exit(2);
  }
  const summary = summariseFolded(readFileSync(file, 'utf8'), top, match);
  const show = (title: string, rows: FrameShare[]) => {
    console.log(`${title} (of ${summary.totalSamples} samples)`);
    for (const r of rows) console.log(`${(100 * r.share).toFixed(1).padStart(6)}%  ${r.frame}`);
  };
  show('inclusive', summary.inclusive);
  show('self', summary.self);
}
