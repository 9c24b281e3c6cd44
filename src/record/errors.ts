// Why `tlbtrace record` will not start, or had to stop: not root, no tracefs, our instance name
// taken, a command that does not exist, an output directory that holds data, a ring buffer that
// could not be read or a spool that could not be written. The CLI prints the message and exits 2;
// tracefs is restored before one of these reaches it.

export class RecordError extends Error {
  override name = 'RecordError';
}
