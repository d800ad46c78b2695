// docker's command.PromptForConfirmation: the message, then "Are you sure you
// want to continue? [y/N] ", and one line of stdin; only "y" or "Y" agrees.

export async function promptForConfirmation(stdin: NodeJS.ReadStream, out: (text: string) => void, message: string): Promise<boolean> {
  out(`${message}\nAre you sure you want to continue? [y/N] `);
  const line = await readLine(stdin);
  const answer = line.trim();
  return answer === 'y' || answer === 'Y';
}

function readLine(stdin: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', finish);
      stdin.off('error', finish);
      stdin.pause();
      resolve(buf.split('\n')[0] ?? '');
    };
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      if (buf.includes('\n')) finish();
    };
    stdin.on('data', onData);
    stdin.once('end', finish);
    stdin.once('error', finish);
    stdin.resume();
  });
}
