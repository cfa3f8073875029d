/**
 * `text2live` command-line entry (Node, any machine with a WebGPU adapter):
 *   text2live edit photo.jpg --prompt "golden horse" --src horse --roi horse --quality reference --model <dir> --out results/
 */
import { parseEditArgs, UsageError, EDIT_USAGE } from './editCommand';
import { runEdit } from './runEdit';

const MAIN_USAGE = `Usage: text2live <command> [options]

Commands:
  edit    train an edit layer for an image (text2live edit --help)`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(MAIN_USAGE);
    return command ? 0 : 2;
  }
  if (command !== 'edit') {
    console.error(`text2live: unknown command "${command}"\n\n${MAIN_USAGE}`);
    return 2;
  }
  let cmd;
  try {
    cmd = parseEditArgs(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`text2live edit: ${e.message}\n\n${EDIT_USAGE}`);
      return 2;
    }
    throw e;
  }
  if (!cmd) {
    console.log(EDIT_USAGE);
    return 0;
  }
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nStopping after this step and saving (Ctrl-C again to quit at once)...\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const tty = process.stderr.isTTY;
  try {
    const result = await runEdit(cmd, {
      log: (line) => console.log(line),
      progress: (line) => (tty ? process.stderr.write(`\r${line}`) : process.stderr.write(`${line}\n`)),
      signal: abort.signal,
    });
    if (tty) process.stderr.write('\n');
    console.log(
      result.interrupted
        ? `Interrupted at step ${result.stepsDone}/${result.totalSteps}: the last snapshot and session.safetensors are in ${result.outDir}`
        : `Done: ${result.outDir}/composite.png, edit.png, alpha.png, greenscreen.png, log.json, session.safetensors`,
    );
    return result.interrupted ? 130 : 0;
  } catch (e) {
    if (tty) process.stderr.write('\n');
    console.error(`text2live edit: ${(e as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
