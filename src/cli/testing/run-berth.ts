// Runs the real bin/berth in a child process, as a user would, and collects
// what it printed and its exit code.

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/berth against the fake engine (or any host) and collects its output. */
export async function runBerth(args: string[], opts: { host?: string; input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const bin = fileURLToPath(new URL('../../../../bin/berth', import.meta.url));
  // Never the default socket: as root, that would start a real berthd.
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_HOST: opts.host ?? 'unix:///nonexistent/berth-test.sock', ...opts.env };
  delete env.DOCKER_HOST;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
