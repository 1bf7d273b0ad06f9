/**
 * `bench claims [--preset P] [--results DIR] [--format md|csv|json]`: the paper's claims judged on
 * the stored results (claims/scorecard.ts); prints the scorecard and writes
 * results/claims-P.{md,csv,json,html}. Nothing is run.
 */
import { Command, Option } from 'commander';
import path from 'node:path';
import { PRESETS } from '../../recipes/presets.ts';
import { renderCsv, renderMarkdown, renderTerminal } from '../../report/table.ts';
import { runClaims } from '../../claims/scorecard.ts';

const FORMATS = ['table', 'md', 'csv', 'json'] as const;

export function claimsCommand(): Command {
  return new Command('claims')
    .description(
      "judge the paper's claims on the stored results of a preset (reproduced / contradicted / within noise) and write " +
        'results/claims-PRESET.*',
    )
    .addOption(new Option('--preset <name>', 'size preset of the results').choices(PRESETS).default('tiny'))
    .option('--results <dir>', 'folder holding the stored suite results', 'results')
    .option('--claims <file>', 'claims file (default: claims/claims.json)')
    .addOption(new Option('--format <fmt>', 'format printed on stdout').choices(FORMATS).default('table'))
    .action((o: { preset: string; results: string; claims?: string; format: (typeof FORMATS)[number] }) => {
      const r = runClaims({ preset: o.preset, resultsDir: path.resolve(o.results), claimsFile: o.claims && path.resolve(o.claims) });
      const out =
        o.format === 'csv'
          ? renderCsv(r.table)
          : o.format === 'json'
            ? `${JSON.stringify(r.scorecard, null, 2)}\n`
            : o.format === 'md'
              ? renderMarkdown(r.table)
              : `${renderTerminal(r.table)}\n`;
      process.stdout.write(out);
      console.error(`wrote ${r.files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    });
}
