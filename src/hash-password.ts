// `promgate hash-password`: an htpasswd line like `htpasswd -nB`, bcrypt cost 10 by default.
import bcrypt from 'bcrypt';
import { ConfigError } from './errors.ts';

export const DEFAULT_BCRYPT_COST = 10;
export const MIN_BCRYPT_COST = 10;

export async function hashPasswordLine(password: string, options: { user?: string; cost?: number }): Promise<string> {
  const cost = options.cost ?? DEFAULT_BCRYPT_COST;
  if (!Number.isInteger(cost) || cost < MIN_BCRYPT_COST || cost > 31) {
    throw new ConfigError(`--cost must be a whole number from ${MIN_BCRYPT_COST} to 31`);
  }
  if (options.user !== undefined && (options.user === '' || options.user.includes(':'))) {
    throw new ConfigError('--user must be non-empty and must not contain ":"');
  }
  if (password === '') throw new ConfigError('the password is empty');
  // Apache htpasswd -B writes $2y$; the algorithm is the one bcrypt calls $2b$.
  const hashed = (await bcrypt.hash(password, cost)).replace(/^\$2b\$/, '$2y$');
  return options.user === undefined ? hashed : `${options.user}:${hashed}`;
}

/** The password from a pipe (one trailing newline dropped) or typed twice at a hidden prompt. */
export async function readPassword(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  const first = await promptHidden(input, output, 'New password: ');
  const second = await promptHidden(input, output, 'Re-type new password: ');
  if (first !== second) throw new ConfigError('the passwords do not match');
  return first;
}

function promptHidden(input: NodeJS.ReadStream, output: NodeJS.WriteStream, prompt: string): Promise<string> {
  // Raw mode first: a password typed or pasted before it would be echoed by the terminal.
  input.setRawMode(true);
  output.write(prompt);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(() => resolve(typed));
        if (char === '\u0003') return finish(() => reject(new ConfigError('cancelled')));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    const finish = (settle: () => void) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      settle();
    };
    input.on('data', onData);
  });
}
