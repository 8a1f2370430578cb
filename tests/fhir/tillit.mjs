// What the tests here share: running the `tillit` binary (TILLIT_BIN) and
// serving a data directory with it on a free loopback port.
import { execFileSync, spawn } from 'node:child_process';

export const TILLIT = process.env.TILLIT_BIN;

/** A `tillit` verb's --json output. */
export function tillit(args) {
  return JSON.parse(execFileSync(TILLIT, args, { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** `tillit serve` of `data` on a free loopback port: its URL and a stop(). */
export async function serve(data) {
  const child = spawn(TILLIT, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--quiet'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }),
  };
}
